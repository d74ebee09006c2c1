//! Where things are in a RON file, by field path (`steps[2].patch.workload.rate`): the path
//! at a line and column (to name the field of a serde error, which ron reports by position
//! only), the position of a path's value (to point a problem at a step's `check`), and the
//! file position of a column inside a string literal (a check's parse error). serde gives
//! no spans, so this is a small scanner of RON's structure: brackets, `key:`, commas, strings
//! and comments; values themselves are skipped.

/// A 1-based line and character column, as ron reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `( … )`: a struct (keys), a tuple or an enum variant's fields.
    Paren,
    /// `[ … ]`: elements are numbered.
    List,
    /// `{ … }`: a map; its keys are values and are not part of paths.
    Brace,
}

struct Frame {
    kind: Kind,
    key: Option<String>,
    index: usize,
}

fn render(frames: &[Frame]) -> String {
    let mut s = String::new();
    for f in frames {
        match (f.kind, &f.key) {
            (Kind::List, _) => s.push_str(&format!("[{}]", f.index)),
            (Kind::Paren, Some(k)) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            _ => {}
        }
    }
    s
}

/// Calls `at` with the start of every value (and bracket) and the frames around it, and at the
/// end of the text; stops when `at` returns true. Keys are consumed silently, so the values
/// after a key see it in their path.
fn walk(text: &str, mut at: impl FnMut(Pos, &[Frame]) -> bool) {
    let chars: Vec<char> = text.chars().collect();
    let mut frames: Vec<Frame> = Vec::new();
    let (mut i, mut line, mut col) = (0, 1, 1);
    // Advances over one character, keeping the line and column.
    let step = |i: &mut usize, line: &mut usize, col: &mut usize| {
        if chars.get(*i) == Some(&'\n') {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let pos = Pos { line, column: col };
        if c.is_whitespace() {
            step(&mut i, &mut line, &mut col);
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                step(&mut i, &mut line, &mut col);
            }
        } else if c == '/' && next == Some('*') {
            step(&mut i, &mut line, &mut col);
            step(&mut i, &mut line, &mut col);
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                step(&mut i, &mut line, &mut col);
            }
            step(&mut i, &mut line, &mut col);
            step(&mut i, &mut line, &mut col);
        } else if c == '#' {
            // `#![enable(…)]` attributes are not values.
            while i < chars.len() && chars[i] != ']' {
                step(&mut i, &mut line, &mut col);
            }
            step(&mut i, &mut line, &mut col);
        } else if c == '"' || c == '\'' || (c == 'r' && matches!(next, Some('"' | '#'))) {
            if at(pos, &frames) {
                return;
            }
            let end = literal_end(&chars, i);
            while i < end {
                step(&mut i, &mut line, &mut col);
            }
        } else if matches!(c, '(' | '[' | '{') {
            if at(pos, &frames) {
                return;
            }
            let kind = match c {
                '(' => Kind::Paren,
                '[' => Kind::List,
                _ => Kind::Brace,
            };
            frames.push(Frame {
                kind,
                key: None,
                index: 0,
            });
            step(&mut i, &mut line, &mut col);
        } else if matches!(c, ')' | ']' | '}') {
            frames.pop();
            step(&mut i, &mut line, &mut col);
        } else if c == ',' {
            if let Some(f) = frames.last_mut() {
                f.index += 1;
                f.key = None;
            }
            step(&mut i, &mut line, &mut col);
        } else if c == ':' {
            step(&mut i, &mut line, &mut col);
        } else {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || "_.+-".contains(chars[i])) {
                step(&mut i, &mut line, &mut col);
            }
            if i == start {
                step(&mut i, &mut line, &mut col);
                continue;
            }
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let is_key =
                chars.get(j) == Some(&':') && frames.last().is_some_and(|f| f.kind == Kind::Paren);
            if is_key {
                let key: String = chars[start..i].iter().collect();
                if let Some(f) = frames.last_mut() {
                    f.key = Some(key);
                }
            } else if at(pos, &frames) {
                return;
            }
        }
    }
    // The end of the text is reported too, so a caller sees the frames still open there.
    at(Pos { line, column: col }, &frames);
}

/// Index just past the string, raw string or char literal starting at `i`.
fn literal_end(chars: &[char], mut i: usize) -> usize {
    if chars[i] == 'r' {
        i += 1;
        let mut hashes = 0;
        while chars.get(i) == Some(&'#') {
            hashes += 1;
            i += 1;
        }
        i += 1;
        while i < chars.len() {
            if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                return i + 1 + hashes;
            }
            i += 1;
        }
        return chars.len();
    }
    let quote = chars[i];
    i += 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    (i + 1).min(chars.len())
}

/// The field path open at `pos` (`""` at the top level): the keys read and the brackets
/// still open in the text before it. With `container`, the path of the innermost open
/// bracket itself, without the key last read inside it (for errors about a whole struct,
/// such as a missing field, reported at its closing bracket).
pub fn path_at(text: &str, pos: Pos, container: bool) -> String {
    let mut path = String::new();
    walk(&truncate(text, pos), |_, frames| {
        path = match frames.split_last() {
            Some((last, outer)) if container && last.kind == Kind::Paren => {
                render(outer)
                    + &render(&[Frame {
                        kind: last.kind,
                        key: None,
                        index: last.index,
                    }])
            }
            _ => render(frames),
        };
        false
    });
    path
}

/// The text up to (not including) `pos`.
fn truncate(text: &str, pos: Pos) -> String {
    let mut out = String::new();
    for (n, l) in text.split_inclusive('\n').enumerate() {
        if n + 1 < pos.line {
            out.push_str(l);
        } else {
            out.extend(l.chars().take(pos.column.saturating_sub(1)));
            break;
        }
    }
    out
}

/// Where the value at `path` starts.
pub fn position_of(text: &str, path: &str) -> Option<Pos> {
    let mut found = None;
    walk(text, |p, frames| {
        if render(frames) == path {
            found = Some(p);
            return true;
        }
        false
    });
    found
}

/// The file position of 1-based `column` of the decoded contents of the string literal that
/// starts at `start` (escapes count as one character, as in the decoded string).
pub fn inside_string(text: &str, start: Pos, column: usize) -> Pos {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut p = Pos { line: 1, column: 1 };
    while i < chars.len() && p < start {
        advance(&mut p, chars[i]);
        i += 1;
    }
    // Past the opening quote: `"`, or `r`, hashes and `"` for a raw string.
    let raw = chars.get(i) == Some(&'r');
    while i < chars.len() && chars[i] != '"' {
        advance(&mut p, chars[i]);
        i += 1;
    }
    if i < chars.len() {
        advance(&mut p, chars[i]);
        i += 1;
    }
    for _ in 1..column {
        if i >= chars.len() || chars[i] == '"' {
            break;
        }
        if chars[i] == '\\' && !raw {
            advance(&mut p, chars[i]);
            i += 1;
        }
        if i < chars.len() {
            advance(&mut p, chars[i]);
            i += 1;
        }
    }
    p
}

fn advance(p: &mut Pos, c: char) {
    if c == '\n' {
        p.line += 1;
        p.column = 1;
    } else {
        p.column += 1;
    }
}
