//! The `simple_query_string` grammar (Lucene's `SimpleQueryParser`): `+` (AND), `|` (OR),
//! `-` (NOT), `"phrase"` with `~slop`, `prefix*`, `term~N`, parentheses. It never fails on
//! syntax.
use super::parser::{Occur, Qs, Term, MAX_DEPTH};

#[derive(Debug, Clone, PartialEq)]
enum STok {
    Plus,
    Pipe,
    Minus,
    LParen,
    RParen,
    Word(String),
    Phrase(String, Option<u32>),
}

fn lex(q: &str) -> Vec<STok> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            c if c.is_whitespace() => {}
            '+' => out.push(STok::Plus),
            '|' => out.push(STok::Pipe),
            '-' => out.push(STok::Minus),
            '(' => out.push(STok::LParen),
            ')' => out.push(STok::RParen),
            '"' => {
                let start = i;
                while i < chars.len() && chars[i] != '"' {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                i = (i + 1).min(chars.len());
                let mut slop = None;
                if chars.get(i) == Some(&'~') {
                    let s = i + 1;
                    let mut e = s;
                    while e < chars.len() && chars[e].is_ascii_digit() {
                        e += 1;
                    }
                    slop = chars[s..e].iter().collect::<String>().parse().ok();
                    i = e;
                }
                out.push(STok::Phrase(text, slop));
            }
            _ => {
                let mut w = String::new();
                w.push(c);
                while i < chars.len() && !chars[i].is_whitespace() && !"+|()\"".contains(chars[i]) {
                    w.push(chars[i]);
                    i += 1;
                }
                out.push(STok::Word(w));
            }
        }
    }
    out
}

/// Parses `q`; `None` when it holds no term at all.
pub(crate) fn parse(q: &str, default_and: bool) -> Option<Qs> {
    let toks = lex(q);
    let mut pos = 0;
    group(&toks, &mut pos, default_and, 0)
}

/// Lucene `SimpleQueryParser`: operators combine left to right; a run of the same
/// operator forms one group, a change of operator wraps what came before. A negated
/// clause is "everything except" it.
fn group(toks: &[STok], pos: &mut usize, default_and: bool, depth: usize) -> Option<Qs> {
    let occur = |and: bool| if and { Occur::Must } else { Occur::Should };
    let mut acc: Option<(Option<bool>, Qs)> = None;
    let mut op: Option<bool> = None;
    let mut negate = false;
    while *pos < toks.len() {
        let t = toks[*pos].clone();
        *pos += 1;
        let q = match t {
            STok::Pipe => {
                op = Some(false);
                continue;
            }
            STok::Plus => {
                op = Some(true);
                continue;
            }
            STok::Minus => {
                negate = !negate;
                continue;
            }
            STok::RParen => break,
            STok::LParen if depth < MAX_DEPTH => match group(toks, pos, default_and, depth + 1) {
                Some(g) => g,
                None => continue,
            },
            STok::LParen => continue,
            STok::Word(w) => word(&w),
            STok::Phrase(text, slop) => Qs::Term {
                field: None,
                term: Term::Phrase { text, slop },
            },
        };
        let q = if negate {
            Qs::Group(vec![(Occur::MustNot, q)])
        } else {
            q
        };
        let this = op.unwrap_or(default_and);
        acc = Some(match acc {
            None => (None, q),
            Some((Some(prev), Qs::Group(mut clauses))) if prev == this => {
                clauses.push((occur(this), q));
                (Some(this), Qs::Group(clauses))
            }
            Some((_, prev)) => (
                Some(this),
                Qs::Group(vec![(occur(this), prev), (occur(this), q)]),
            ),
        });
        op = None;
        negate = false;
    }
    acc.map(|(_, q)| q)
}

fn word(w: &str) -> Qs {
    let term = if let Some((text, fz)) = w.split_once('~') {
        Term::Fuzzy {
            text: text.to_string(),
            fuzziness: if fz.is_empty() {
                "AUTO".to_string()
            } else {
                fz.to_string()
            },
        }
    } else if let Some(p) = w.strip_suffix('*') {
        if p.is_empty() {
            Term::Wildcard {
                pattern: "*".to_string(),
            }
        } else {
            Term::Prefix(p.to_string())
        }
    } else {
        Term::Plain(w.to_string())
    };
    Qs::Term { field: None, term }
}
