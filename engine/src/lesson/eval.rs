//! The check language's evaluator. A `Check` is parsed and type-checked once (unknown
//! functions, wrong arguments and number/truth mix-ups are errors before anything runs);
//! evaluating it over `Results` gives whether it holds and the value of every call in it, so
//! the learner sees their own numbers next to the claim.
use super::expr::{error, parse, BinOp, Call, Expr, ExprError, UnaryOp};
use super::functions::{
    function, signature, unit_of, value, ArgVal, Function, Param, FUNCTIONS, METRICS,
};
use super::results::Results;
use crate::serve::cluster::Mode;

/// A check, parsed and type-checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    text: String,
    expr: Expr,
}

/// Whether a check held, and every call's value (in order of first appearance).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub passed: bool,
    pub values: Vec<(String, f64)>,
}

impl CheckOutcome {
    /// The learner's numbers in one line: `p90(tpot, chunked) = 31.2 ms, …`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .values
            .iter()
            .map(|(label, v)| {
                let unit = unit_of(label);
                let sep = if unit.is_empty() || unit == "×" {
                    ""
                } else {
                    " "
                };
                format!("{label} = {}{sep}{unit}", short(*v))
            })
            .collect();
        parts.join(", ")
    }
}

/// Three significant digits, without a forest of zeros.
fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.digits$}")
}

impl Check {
    pub fn parse(text: &str) -> Result<Check, ExprError> {
        let expr = parse(text)?;
        if type_of(&expr)? != Ty::Bool {
            return Err(error(
                1,
                "a check must be a comparison (e.g. `goodput(chunked) > goodput(aggregated)`), not a number",
            ));
        }
        Ok(Check {
            text: text.to_string(),
            expr,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates every call (no short-circuit, so every number is shown); missing data (a
    /// mode not run, no interference table, no sweep) is an error naming what to run.
    pub fn evaluate(&self, results: &Results) -> Result<CheckOutcome, ExprError> {
        let mut values = Vec::new();
        let passed = match eval(&self.expr, results, &mut values)? {
            Val::Bool(b) => b,
            Val::Num(_) => return Err(error(1, "a check must be a comparison")),
        };
        Ok(CheckOutcome { passed, values })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Num,
    Bool,
}

/// Where an expression starts: a binary expression at its left operand.
fn column_of(e: &Expr) -> usize {
    match e {
        Expr::Binary { lhs, .. } => column_of(lhs),
        Expr::Number { column, .. } | Expr::Name { column, .. } | Expr::Unary { column, .. } => {
            *column
        }
        Expr::Call(c) => c.column,
    }
}

fn want(e: &Expr, ty: Ty, what: &str) -> Result<(), ExprError> {
    if type_of(e)? == ty {
        return Ok(());
    }
    let is = match ty {
        Ty::Num => "a comparison, not a number",
        Ty::Bool => "a number, not a comparison",
    };
    Err(error(column_of(e), format!("{what} is {is}")))
}

fn type_of(e: &Expr) -> Result<Ty, ExprError> {
    match e {
        Expr::Number { .. } => Ok(Ty::Num),
        Expr::Name { name, column } => Err(error(
            *column,
            format!("`{name}` is not a number: names such as tpot or chunked go inside a function's parentheses, e.g. p90(tpot, {name})"),
        )),
        Expr::Call(c) => bind(c).map(|_| Ty::Num),
        Expr::Unary { op, arg, .. } => match op {
            UnaryOp::Neg => want(arg, Ty::Num, "what `-` negates").map(|_| Ty::Num),
            UnaryOp::Not => want(arg, Ty::Bool, "what `!` negates").map(|_| Ty::Bool),
        },
        Expr::Binary { op, lhs, rhs, .. } => {
            let (operand, out) = match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => (Ty::Num, Ty::Num),
                BinOp::And | BinOp::Or => (Ty::Bool, Ty::Bool),
                _ => (Ty::Num, Ty::Bool),
            };
            let s = op.symbol();
            want(lhs, operand, &format!("the left side of `{s}`"))?;
            want(rhs, operand, &format!("the right side of `{s}`"))?;
            Ok(out)
        }
    }
}

/// A call's arguments in the function's parameter order.
struct Bound<'a> {
    function: &'static Function,
    args: Vec<&'a Expr>,
}

fn bind(c: &Call) -> Result<Bound<'_>, ExprError> {
    let Some(func) = function(&c.name) else {
        let known: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        return Err(error(
            c.column,
            format!("unknown function `{}`; known: {}", c.name, known.join(", ")),
        ));
    };
    let sig = signature(func);
    let mut slots: Vec<Option<&Expr>> = vec![None; func.params.len()];
    let mut seen_named = false;
    for (i, a) in c.args.iter().enumerate() {
        let slot = match &a.name {
            Some(n) => {
                seen_named = true;
                func.params
                    .iter()
                    .position(|p| p.0 == n)
                    .ok_or_else(|| error(a.column, format!("`{n}` is not a parameter of {sig}")))?
            }
            None if seen_named => {
                return Err(error(a.column, "a positional argument after a named one"));
            }
            None if i >= func.params.len() => {
                return Err(error(
                    a.column,
                    format!(
                        "{sig} takes {} argument(s), got {}",
                        func.params.len(),
                        c.args.len()
                    ),
                ));
            }
            None => i,
        };
        if slots[slot].is_some() {
            let p = func.params[slot].0;
            return Err(error(a.column, format!("`{p}` is given twice")));
        }
        check_arg(&a.value, func.params[slot], a.column)?;
        slots[slot] = Some(&a.value);
    }
    let mut args = Vec::new();
    for (slot, p) in slots.into_iter().zip(func.params) {
        let e = slot.ok_or_else(|| error(c.column, format!("{sig} needs `{}`", p.0)))?;
        args.push(e);
    }
    Ok(Bound {
        function: func,
        args,
    })
}

fn check_arg(e: &Expr, (name, kind): (&str, Param), column: usize) -> Result<(), ExprError> {
    let word = match e {
        Expr::Name { name, .. } => Some(name.as_str()),
        _ => None,
    };
    match kind {
        Param::Metric => match word {
            Some(w) if METRICS.contains(&w) => Ok(()),
            _ => Err(error(
                column,
                format!(
                    "`{name}` must be one of {}, found `{e}`",
                    METRICS.join(", ")
                ),
            )),
        },
        Param::Mode => match word.map(Mode::parse) {
            Some(Ok(_)) => Ok(()),
            _ => Err(error(
                column,
                format!("`{name}` must be aggregated, chunked or disaggregated, found `{e}`"),
            )),
        },
        Param::Count => want(e, Ty::Num, &format!("`{name}`")),
    }
}

#[derive(Debug, Clone, Copy)]
enum Val {
    Num(f64),
    Bool(bool),
}

fn num(e: &Expr, r: &Results, values: &mut Vec<(String, f64)>) -> Result<f64, ExprError> {
    match eval(e, r, values)? {
        Val::Num(x) => Ok(x),
        Val::Bool(_) => Err(error(column_of(e), "expected a number")),
    }
}

fn truth(e: &Expr, r: &Results, values: &mut Vec<(String, f64)>) -> Result<bool, ExprError> {
    match eval(e, r, values)? {
        Val::Bool(b) => Ok(b),
        Val::Num(_) => Err(error(column_of(e), "expected a comparison")),
    }
}

fn eval(e: &Expr, r: &Results, values: &mut Vec<(String, f64)>) -> Result<Val, ExprError> {
    Ok(match e {
        Expr::Number { value, .. } => Val::Num(*value),
        Expr::Name { .. } => return type_of(e).map(|_| Val::Num(f64::NAN)),
        Expr::Call(c) => {
            let bound = bind(c)?;
            let mut args = Vec::new();
            for a in &bound.args {
                args.push(match a {
                    Expr::Name { name, .. } => ArgVal::Word(name),
                    e => ArgVal::Num(num(e, r, values)?),
                });
            }
            let v = value(bound.function, &args, c.column, r)?;
            let label = c.to_string();
            if !values.iter().any(|(l, _)| *l == label) {
                values.push((label, v));
            }
            Val::Num(v)
        }
        Expr::Unary { op, arg, .. } => match op {
            UnaryOp::Neg => Val::Num(-num(arg, r, values)?),
            UnaryOp::Not => Val::Bool(!truth(arg, r, values)?),
        },
        Expr::Binary { op, lhs, rhs, .. } => {
            if matches!(op, BinOp::And | BinOp::Or) {
                let (a, b) = (truth(lhs, r, values)?, truth(rhs, r, values)?);
                return Ok(Val::Bool(if *op == BinOp::And { a && b } else { a || b }));
            }
            let (a, b) = (num(lhs, r, values)?, num(rhs, r, values)?);
            match op {
                BinOp::Add => Val::Num(a + b),
                BinOp::Sub => Val::Num(a - b),
                BinOp::Mul => Val::Num(a * b),
                BinOp::Div => Val::Num(a / b),
                BinOp::Lt => Val::Bool(a < b),
                BinOp::Le => Val::Bool(a <= b),
                BinOp::Gt => Val::Bool(a > b),
                BinOp::Ge => Val::Bool(a >= b),
                BinOp::Eq => Val::Bool(a == b),
                BinOp::Ne | BinOp::And | BinOp::Or => Val::Bool(a != b),
            }
        }
    })
}
