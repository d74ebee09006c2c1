//! The check language of lesson steps, read by a small hand-written tokenizer and a
//! recursive-descent parser: numbers, names, calls with positional and `name = value`
//! arguments, `+ - * /`, comparisons, `&& || !` and parentheses, e.g.
//! `p90(tpot, chunked) < p90(tpot, aggregated) && slowdown(decode_batch = 8, prefill_len = 512) > 2`.
//! Every error carries the 1-based character column of the check text it is about, so a lesson
//! file can point at it.
use super::token::{describe, tokenize, Tok};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    /// 1-based character column in the check text.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ExprError {}

pub(crate) fn error(column: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        column,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// `Some` for `name = value`.
    pub name: Option<String>,
    pub value: Expr,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub column: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number {
        value: f64,
        column: usize,
    },
    /// A bare name: a metric (`tpot`) or a mode (`chunked`) given to a function.
    Name {
        name: String,
        column: usize,
    },
    Call(Call),
    Unary {
        op: UnaryOp,
        arg: Box<Expr>,
        column: usize,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        column: usize,
    },
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            if let Some(n) = &a.name {
                write!(f, "{n} = ")?;
            }
            write!(f, "{}", a.value)?;
        }
        write!(f, ")")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Number { value, .. } => write!(f, "{value}"),
            Expr::Name { name, .. } => write!(f, "{name}"),
            Expr::Call(c) => write!(f, "{c}"),
            Expr::Unary { op, arg, .. } => match op {
                UnaryOp::Neg => write!(f, "-{arg}"),
                UnaryOp::Not => write!(f, "!{arg}"),
            },
            Expr::Binary { op, lhs, rhs, .. } => write!(f, "({lhs} {} {rhs})", op.symbol()),
        }
    }
}

/// Nesting deeper than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 64;
/// A longer check is refused: it bounds the depth of `a + b + …` chains too, which the
/// evaluator walks recursively.
const MAX_TOKENS: usize = 512;

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
}

/// Parses one expression covering the whole of `text`.
pub fn parse(text: &str) -> Result<Expr, ExprError> {
    let toks = tokenize(text)?;
    if let Some((_, column)) = toks.get(MAX_TOKENS) {
        return Err(error(
            *column,
            format!("the check is too long (over {MAX_TOKENS} tokens): split it over steps"),
        ));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    if p.peek() == &Tok::End {
        return Err(error(1, "the check is empty"));
    }
    let e = p.or()?;
    match p.peek() {
        Tok::End => Ok(e),
        t => Err(error(
            p.column(),
            format!("unexpected {} here", describe(t)),
        )),
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn column(&self) -> usize {
        self.toks[self.pos].1
    }

    fn bump(&mut self) -> (Tok, usize) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, sym: &'static str) -> bool {
        if self.peek() == &Tok::Sym(sym) {
            self.bump();
            return true;
        }
        false
    }

    fn expect(&mut self, sym: &'static str, what: &str) -> Result<(), ExprError> {
        if self.eat(sym) {
            return Ok(());
        }
        let found = describe(self.peek());
        Err(error(
            self.column(),
            format!("expected {what}, found {found}"),
        ))
    }

    fn binary(
        &mut self,
        ops: &[(&'static str, BinOp)],
        next: fn(&mut Self) -> Result<Expr, ExprError>,
    ) -> Result<Expr, ExprError> {
        let mut lhs = next(self)?;
        'outer: loop {
            for &(sym, op) in ops {
                let column = self.column();
                if self.eat(sym) {
                    let rhs = next(self)?;
                    lhs = Expr::Binary {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                        column,
                    };
                    continue 'outer;
                }
            }
            return Ok(lhs);
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        self.binary(&[("||", BinOp::Or)], Self::and)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        self.binary(&[("&&", BinOp::And)], Self::comparison)
    }

    /// Comparisons do not chain: `a < b < c` is refused rather than read surprisingly.
    fn comparison(&mut self) -> Result<Expr, ExprError> {
        const OPS: [(&str, BinOp); 6] = [
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ];
        let lhs = self.sum()?;
        let column = self.column();
        let Some(&(_, op)) = OPS.iter().find(|(s, _)| self.peek() == &Tok::Sym(s)) else {
            return Ok(lhs);
        };
        self.bump();
        let rhs = self.sum()?;
        if OPS.iter().any(|(s, _)| self.peek() == &Tok::Sym(s)) {
            return Err(error(
                self.column(),
                "comparisons do not chain: join them with &&",
            ));
        }
        Ok(Expr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
            column,
        })
    }

    fn sum(&mut self) -> Result<Expr, ExprError> {
        self.binary(&[("+", BinOp::Add), ("-", BinOp::Sub)], Self::product)
    }

    fn product(&mut self) -> Result<Expr, ExprError> {
        self.binary(&[("*", BinOp::Mul), ("/", BinOp::Div)], Self::unary)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        let column = self.column();
        let op = if self.eat("-") {
            UnaryOp::Neg
        } else if self.eat("!") {
            UnaryOp::Not
        } else {
            return self.primary();
        };
        let arg = self.nested(Self::unary)?;
        Ok(Expr::Unary {
            op,
            arg: Box::new(arg),
            column,
        })
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Expr, ExprError>) -> Result<Expr, ExprError> {
        if self.depth >= MAX_DEPTH {
            return Err(error(self.column(), "the check is nested too deeply"));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let (tok, column) = self.bump();
        match tok {
            Tok::Num(value) => Ok(Expr::Number { value, column }),
            Tok::Sym("(") => {
                let e = self.nested(Self::or)?;
                self.expect(")", "`)`")?;
                Ok(e)
            }
            Tok::Ident(name) if self.peek() == &Tok::Sym("(") => {
                self.bump();
                let args = self.args()?;
                Ok(Expr::Call(Call { name, column, args }))
            }
            Tok::Ident(name) => Ok(Expr::Name { name, column }),
            t => Err(error(
                column,
                format!("expected a number, a name or `(`, found {}", describe(&t)),
            )),
        }
    }

    /// Arguments after the opening parenthesis, up to and including the closing one.
    fn args(&mut self) -> Result<Vec<Arg>, ExprError> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            let column = self.column();
            let next = self.toks.get(self.pos + 1).map(|t| &t.0);
            let name = match (self.peek().clone(), next) {
                (Tok::Ident(n), Some(Tok::Sym("="))) => {
                    self.bump();
                    self.bump();
                    Some(n)
                }
                _ => None,
            };
            let value = self.nested(Self::or)?;
            args.push(Arg {
                name,
                value,
                column,
            });
            if self.eat(")") {
                return Ok(args);
            }
            self.expect(",", "`,` or `)` after an argument")?;
        }
    }
}
