//! The check language's tokens: numbers, names and symbols, each with the 1-based character
//! column it starts at (errors point there).
use super::expr::{error, ExprError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Num(f64),
    Ident(String),
    Sym(&'static str),
    End,
}

/// Two-character symbols first, so `<=` is not read as `<` then `=`.
const SYMBOLS: [&str; 17] = [
    "<=", ">=", "==", "!=", "&&", "||", "(", ")", ",", "=", "+", "-", "*", "/", "<", ">", "!",
];

/// The tokens of `text`, each with its 1-based character column, ending with `End`.
pub(crate) fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            let digits = |i: &mut usize| {
                while *i < chars.len() && chars[*i].is_ascii_digit() {
                    *i += 1;
                }
            };
            digits(&mut i);
            if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                i += 1;
                digits(&mut i);
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    digits(&mut i);
                }
            }
            let s: String = chars[start..i].iter().collect();
            let x = s
                .parse::<f64>()
                .map_err(|_| error(column, format!("{s:?} is not a number")))?;
            out.push((Tok::Num(x), column));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), column));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) else {
                let hint = match c {
                    '&' => ": write && for and",
                    '|' => ": write || for or",
                    _ => "",
                };
                return Err(error(column, format!("unexpected character {c:?}{hint}")));
            };
            out.push((Tok::Sym(sym), column));
            i += sym.chars().count();
        }
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

pub(crate) fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(x) => format!("number {x}"),
        Tok::Ident(s) => format!("name `{s}`"),
        Tok::Sym(s) => format!("`{s}`"),
        Tok::End => "end of the check".into(),
    }
}
