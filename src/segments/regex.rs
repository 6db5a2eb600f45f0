//! A small linear-time regular expression engine for `$regex` / `$regexi` (JS syntax subset).
//! Pure: no I/O.
//!
//! Patterns can come from a remote settings file, so matching must never backtrack: a
//! pattern is compiled to a Thompson NFA and run as a Pike VM (every thread advances in
//! lock-step), which costs O(pattern × input) whatever the pattern.
//!
//! Supported (JavaScript, non-unicode mode): literals and escapes (`\t \n \r \v \f \0 \xHH
//! \uHHHH \cX`, identity escapes), `.`, classes with ranges and negation, `\d \w \s \D \W \S`,
//! `\b \B`, `^ $` (whole-input, no `m` flag), groups `( )`, `(?: )`, `(?<name> )`,
//! alternation, `* + ? {n} {n,} {n,m}` (greedy or lazy; counted repetition is expanded with a
//! size bound), and case-insensitive matching (characters compare by JavaScript's
//! `Canonicalize`; a class also matches a character's lower case; the case mapping is
//! [`case`](super::case)'s).
//! [`RegexError::Invalid`] is what JavaScript rejects with a `SyntaxError` (GrowthBook then
//! answers FALSE); [`RegexError::Unsupported`] is valid JavaScript this engine does not run
//! (backreferences, lookaround, very large expansions): the leaf using it is UNKNOWN.

use super::case::{map_char, map_chars, Case};

/// Why a pattern did not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegexError {
    /// JavaScript would throw a `SyntaxError` for this pattern.
    Invalid,
    /// Valid JavaScript that this engine does not support (backreference, lookaround, too big).
    Unsupported,
}

impl RegexError {
    /// A short, lowercase description.
    pub fn message(self) -> &'static str {
        match self {
            RegexError::Invalid => "invalid regular expression",
            RegexError::Unsupported => {
                "regular expression uses syntax the linear-time engine does not support (backreference, lookaround or too large)"
            }
        }
    }
}

/// Largest compiled program (instructions); counted repetition beyond this is Unsupported.
const MAX_INSTS: usize = 4096;
/// Deepest group nesting accepted while parsing.
const MAX_NEST: usize = 64;

#[derive(Clone, Debug, PartialEq)]
enum Inst {
    Char(char),
    /// Any character but a line terminator.
    Any,
    Class(u16),
    Split(u32, u32),
    Jmp(u32),
    Look(Look),
    Match,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Look {
    Start,
    End,
    WordBoundary,
    NotWordBoundary,
}

/// A character class: sorted-free list of inclusive ranges, possibly negated.
#[derive(Clone, Debug, PartialEq, Default)]
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    /// Whether `c` is in the class; `folded` is `c`'s [`Folded`] form under the `i` flag.
    fn contains(&self, c: char, folded: Option<Folded>) -> bool {
        let hit = |ch: char| self.ranges.iter().any(|&(lo, hi)| lo <= ch && ch <= hi);
        let found = hit(c) || folded.is_some_and(|f| hit(f.lower) || hit(f.canon));
        found != self.negated
    }
}

#[derive(Clone, Debug)]
enum Ast {
    Empty,
    Char(char),
    Any,
    Class(Class),
    Look(Look),
    Concat(Vec<Ast>),
    Alt(Vec<Ast>),
    Repeat(Box<Ast>, u32, Option<u32>),
}

/// A compiled pattern. Matching is `O(len(program) × len(input))`, never exponential.
#[derive(Clone, Debug)]
pub struct Regex {
    prog: Vec<Inst>,
    classes: Vec<Class>,
    insensitive: bool,
}

/// A character's forms under the `i` flag.
#[derive(Clone, Copy)]
struct Folded {
    /// JavaScript's `Canonicalize` (non-unicode mode): the upper case when it is one
    /// character, unless that maps a non-ASCII character into ASCII.
    canon: char,
    /// The lower case when it is one character (a class also matches it).
    lower: char,
}

fn canonicalize(c: char) -> char {
    canonical(c, map_char(c, Case::Upper))
}

/// `Canonicalize` of `c` given its one-character upper case `up`.
fn canonical(c: char, up: char) -> char {
    if !c.is_ascii() && up.is_ascii() {
        c
    } else {
        up
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[(char, char)] = &[
    ('\t', '\r'),
    (' ', ' '),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
    ('\u{feff}', '\u{feff}'),
];

/// The complement of a sorted range list (within the char space).
fn complement(ranges: &[(char, char)]) -> Vec<(char, char)> {
    let mut out = Vec::new();
    let mut next: u32 = 0;
    for &(lo, hi) in ranges {
        let lo = lo as u32;
        if lo > next {
            push_u32_range(&mut out, next, lo - 1);
        }
        next = hi as u32 + 1;
    }
    push_u32_range(&mut out, next, 0x10FFFF);
    out
}

fn push_u32_range(out: &mut Vec<(char, char)>, lo: u32, hi: u32) {
    // Surrogates are not chars: split around them.
    let (lo_c, hi_c) = (char::from_u32(lo), char::from_u32(hi));
    match (lo_c, hi_c) {
        (Some(a), Some(b)) if !(lo < 0xD800 && hi > 0xDFFF) => out.push((a, b)),
        _ => {
            if lo < 0xD800 {
                if let Some(a) = char::from_u32(lo) {
                    out.push((a, '\u{D7FF}'));
                }
            }
            if hi > 0xDFFF {
                let start = lo.max(0xE000);
                if let (Some(a), Some(b)) = (char::from_u32(start), char::from_u32(hi)) {
                    out.push((a, b));
                }
            }
        }
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    _src: &'a str,
}

type PResult<T> = Result<T, RegexError>;

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn peek_at(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn alternation(&mut self) -> PResult<Ast> {
        let mut alts = vec![self.concat()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.concat()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Ast::Empty)
        } else {
            Ast::Alt(alts)
        })
    }

    fn concat(&mut self) -> PResult<Ast> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let (atom, quantifiable) = self.atom()?;
            let atom = self.quantifier(atom, quantifiable)?;
            items.push(atom);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Ast::Empty)
        } else {
            Ast::Concat(items)
        })
    }

    /// Reads `{n}`, `{n,}`, `{n,m}` at the current `{`; `None` (position unchanged) when it
    /// is not a quantifier, in which case JavaScript (Annex B) treats `{` as a literal.
    fn braces(&mut self) -> Option<(u32, Option<u32>)> {
        let save = self.pos;
        self.pos += 1;
        let num = |p: &mut Self| -> Option<u32> {
            let start = p.pos;
            let mut n: u32 = 0;
            while let Some(d) = p.peek().and_then(|c| c.to_digit(10)) {
                n = n.saturating_mul(10).saturating_add(d);
                p.pos += 1;
            }
            if p.pos == start {
                None
            } else {
                Some(n)
            }
        };
        let res = (|| {
            let min = num(self)?;
            let max = if self.peek() == Some(',') {
                self.pos += 1;
                if self.peek() == Some('}') {
                    None
                } else {
                    Some(num(self)?)
                }
            } else {
                Some(min)
            };
            if self.peek() != Some('}') {
                return None;
            }
            self.pos += 1;
            Some((min, max))
        })();
        if res.is_none() {
            self.pos = save;
        }
        res
    }

    fn quantifier(&mut self, atom: Ast, quantifiable: bool) -> PResult<Ast> {
        let (min, max) = match self.peek() {
            Some('*') => {
                self.pos += 1;
                (0, None)
            }
            Some('+') => {
                self.pos += 1;
                (1, None)
            }
            Some('?') => {
                self.pos += 1;
                (0, Some(1))
            }
            Some('{') => match self.braces() {
                Some(q) => q,
                None => return Ok(atom),
            },
            _ => return Ok(atom),
        };
        if !quantifiable {
            return Err(RegexError::Invalid);
        }
        if let Some(max) = max {
            if max < min {
                return Err(RegexError::Invalid);
            }
        }
        if self.peek() == Some('?') {
            // Lazy: the same language, and we only answer "does it match".
            self.pos += 1;
        }
        if let Some('*' | '+' | '?') = self.peek() {
            return Err(RegexError::Invalid);
        }
        if self.peek() == Some('{') && self.braces().is_some() {
            return Err(RegexError::Invalid);
        }
        Ok(Ast::Repeat(Box::new(atom), min, max))
    }

    /// One atom and whether a quantifier may follow it.
    fn atom(&mut self) -> PResult<(Ast, bool)> {
        let c = self.peek().ok_or(RegexError::Invalid)?;
        self.pos += 1;
        Ok(match c {
            '*' | '+' | '?' => return Err(RegexError::Invalid),
            '{' => {
                self.pos -= 1;
                if self.braces().is_some() {
                    return Err(RegexError::Invalid);
                }
                self.pos += 1;
                (Ast::Char('{'), true)
            }
            '.' => (Ast::Any, true),
            '^' => (Ast::Look(Look::Start), false),
            '$' => (Ast::Look(Look::End), false),
            '[' => (Ast::Class(self.class()?), true),
            '(' => {
                self.depth += 1;
                if self.depth > MAX_NEST {
                    return Err(RegexError::Unsupported);
                }
                if self.peek() == Some('?') {
                    match (self.peek_at(1), self.peek_at(2)) {
                        (Some(':'), _) => self.pos += 2,
                        (Some('=' | '!'), _) | (Some('<'), Some('=' | '!')) => {
                            return Err(RegexError::Unsupported)
                        }
                        (Some('<'), _) => {
                            self.pos += 2;
                            let start = self.pos;
                            // An identifier: ASCII letters, digits (not first), `_`, `$`;
                            // any non-ASCII character is let through (the name is never used,
                            // and JavaScript's ID_Start/ID_Continue tables would cost more
                            // than the rare pattern they reject).
                            while let Some(ch) = self.peek() {
                                if ch == '>' {
                                    break;
                                }
                                let first = self.pos == start;
                                if !(ch.is_ascii_alphabetic()
                                    || ch == '_'
                                    || ch == '$'
                                    || !ch.is_ascii())
                                    && (first || !ch.is_ascii_digit())
                                {
                                    return Err(RegexError::Invalid);
                                }
                                self.pos += 1;
                            }
                            if self.peek() != Some('>') || self.pos == start {
                                return Err(RegexError::Invalid);
                            }
                            self.pos += 1;
                        }
                        _ => return Err(RegexError::Invalid),
                    }
                }
                let inner = self.alternation()?;
                if self.peek() != Some(')') {
                    return Err(RegexError::Invalid);
                }
                self.pos += 1;
                self.depth -= 1;
                (inner, true)
            }
            ')' => return Err(RegexError::Invalid),
            '\\' => self.escape()?,
            c => (Ast::Char(c), true),
        })
    }

    fn hex(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..n {
            v = v * 16 + self.peek_at(i)?.to_digit(16)?;
        }
        self.pos += n;
        Some(v)
    }

    /// An escape after `\` that stands for one character (shared by atoms and classes).
    fn char_escape(&mut self, c: char) -> PResult<char> {
        Ok(match c {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'v' => '\u{b}',
            'f' => '\u{c}',
            '0' if !self.peek().is_some_and(|d| d.is_ascii_digit()) => '\0',
            'x' => self.hex(2).and_then(char::from_u32).unwrap_or('x'),
            'u' => match self.hex(4) {
                Some(v) => char::from_u32(v).ok_or(RegexError::Unsupported)?,
                None => 'u',
            },
            'c' => match self.peek() {
                Some(l) if l.is_ascii_alphabetic() => {
                    self.pos += 1;
                    char::from_u32(l as u32 % 32).unwrap_or('c')
                }
                _ => return Err(RegexError::Unsupported),
            },
            '1'..='9' | '0' | 'k' => return Err(RegexError::Unsupported),
            other => other,
        })
    }

    fn class_escape(c: char) -> Option<Class> {
        let (ranges, negated): (&[(char, char)], bool) = match c {
            'd' => (DIGIT, false),
            'D' => (DIGIT, true),
            'w' => (WORD, false),
            'W' => (WORD, true),
            's' => (SPACE, false),
            'S' => (SPACE, true),
            _ => return None,
        };
        Some(Class {
            negated,
            ranges: ranges.to_vec(),
        })
    }

    fn escape(&mut self) -> PResult<(Ast, bool)> {
        let c = self.peek().ok_or(RegexError::Invalid)?;
        self.pos += 1;
        if let Some(class) = Self::class_escape(c) {
            return Ok((Ast::Class(class), true));
        }
        match c {
            'b' => return Ok((Ast::Look(Look::WordBoundary), false)),
            'B' => return Ok((Ast::Look(Look::NotWordBoundary), false)),
            _ => {}
        }
        Ok((Ast::Char(self.char_escape(c)?), true))
    }

    fn class(&mut self) -> PResult<Class> {
        let mut class = Class::default();
        if self.peek() == Some('^') {
            class.negated = true;
            self.pos += 1;
        }
        // One class member: a single char, or a set (from \d etc.).
        enum Member {
            Char(char),
            Set(Class),
        }
        let member = |p: &mut Self| -> PResult<Member> {
            let c = p.peek().ok_or(RegexError::Invalid)?;
            p.pos += 1;
            if c != '\\' {
                return Ok(Member::Char(c));
            }
            let e = p.peek().ok_or(RegexError::Invalid)?;
            p.pos += 1;
            if let Some(set) = Self::class_escape(e) {
                return Ok(Member::Set(set));
            }
            match e {
                'b' => Ok(Member::Char('\u{8}')),
                '-' => Ok(Member::Char('-')),
                _ => Ok(Member::Char(p.char_escape(e)?)),
            }
        };
        loop {
            match self.peek() {
                None => return Err(RegexError::Invalid),
                Some(']') => {
                    self.pos += 1;
                    return Ok(class);
                }
                _ => {}
            }
            let first = member(self)?;
            let is_range = self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']');
            match first {
                Member::Char(lo) if is_range => {
                    self.pos += 1;
                    match member(self)? {
                        Member::Char(hi) => {
                            if hi < lo {
                                return Err(RegexError::Invalid);
                            }
                            class.ranges.push((lo, hi));
                        }
                        Member::Set(set) => {
                            // Annex B: `[a-\d]` is a, '-', and \d.
                            class.ranges.push((lo, lo));
                            class.ranges.push(('-', '-'));
                            add_set(&mut class, &set);
                        }
                    }
                }
                Member::Char(c) => class.ranges.push((c, c)),
                Member::Set(set) => add_set(&mut class, &set),
            }
        }
    }
}

fn add_set(class: &mut Class, set: &Class) {
    if set.negated {
        class.ranges.extend(complement(&set.ranges));
    } else {
        class.ranges.extend_from_slice(&set.ranges);
    }
}

struct Compiler {
    prog: Vec<Inst>,
    classes: Vec<Class>,
}

impl Compiler {
    fn emit(&mut self, inst: Inst) -> PResult<u32> {
        if self.prog.len() >= MAX_INSTS {
            return Err(RegexError::Unsupported);
        }
        self.prog.push(inst);
        Ok((self.prog.len() - 1) as u32)
    }

    fn patch(&mut self, at: u32, inst: Inst) {
        if let Some(slot) = self.prog.get_mut(at as usize) {
            *slot = inst;
        }
    }

    fn here(&self) -> u32 {
        self.prog.len() as u32
    }

    fn compile(&mut self, ast: &Ast) -> PResult<()> {
        match ast {
            Ast::Empty => {}
            Ast::Char(c) => {
                self.emit(Inst::Char(*c))?;
            }
            Ast::Any => {
                self.emit(Inst::Any)?;
            }
            Ast::Class(class) => {
                if self.classes.len() >= u16::MAX as usize {
                    return Err(RegexError::Unsupported);
                }
                self.classes.push(class.clone());
                self.emit(Inst::Class((self.classes.len() - 1) as u16))?;
            }
            Ast::Look(look) => {
                self.emit(Inst::Look(*look))?;
            }
            Ast::Concat(items) => {
                for item in items {
                    self.compile(item)?;
                }
            }
            Ast::Alt(alts) => {
                let mut jumps = Vec::new();
                for (i, alt) in alts.iter().enumerate() {
                    if i + 1 < alts.len() {
                        let split = self.emit(Inst::Match)?;
                        self.compile(alt)?;
                        jumps.push(self.emit(Inst::Match)?);
                        let next = self.here();
                        self.patch(split, Inst::Split(split + 1, next));
                    } else {
                        self.compile(alt)?;
                    }
                }
                let end = self.here();
                for j in jumps {
                    self.patch(j, Inst::Jmp(end));
                }
            }
            Ast::Repeat(inner, min, max) => {
                for _ in 0..*min {
                    self.compile(inner)?;
                }
                match max {
                    None => {
                        // L: split(body, end); body; jmp L
                        let split = self.emit(Inst::Match)?;
                        self.compile(inner)?;
                        self.emit(Inst::Jmp(split))?;
                        let end = self.here();
                        self.patch(split, Inst::Split(split + 1, end));
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.emit(Inst::Match)?);
                            self.compile(inner)?;
                        }
                        let end = self.here();
                        for s in splits {
                            self.patch(s, Inst::Split(s + 1, end));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl Regex {
    /// Compiles `pattern` (JavaScript syntax, no flags, or `i` when `insensitive`).
    ///
    /// # Errors
    /// [`RegexError::Invalid`] for what JavaScript rejects, [`RegexError::Unsupported`] for
    /// valid syntax this engine does not run.
    pub fn new(pattern: &str, insensitive: bool) -> Result<Regex, RegexError> {
        let mut parser = Parser {
            chars: pattern.chars().collect(),
            pos: 0,
            depth: 0,
            _src: pattern,
        };
        let ast = parser.alternation()?;
        if parser.pos != parser.chars.len() {
            // Only an unmatched `)` stops the top-level alternation early.
            return Err(RegexError::Invalid);
        }
        let mut compiler = Compiler {
            prog: Vec::new(),
            classes: Vec::new(),
        };
        compiler.compile(&ast)?;
        compiler.emit(Inst::Match)?;
        let mut prog = compiler.prog;
        if insensitive {
            // Under `i` characters match when their canonical forms do: the pattern's are
            // canonicalized once.
            for inst in &mut prog {
                if let Inst::Char(want) = inst {
                    *want = canonicalize(*want);
                }
            }
        }
        Ok(Regex {
            prog,
            classes: compiler.classes,
            insensitive,
        })
    }

    /// Whether the pattern matches anywhere in `text` (JavaScript `RegExp.prototype.test`).
    pub fn is_match(&self, text: &str) -> bool {
        let n = self.prog.len();
        let mut clist = SparseSet::new(n);
        let mut nlist = SparseSet::new(n);
        let mut stack: Vec<u32> = Vec::new();
        let mut prev: Option<char> = None;
        let mut chars = text.chars().peekable();
        // Under `i`, every character's case forms, mapped once per input (one host call each
        // way outside ASCII).
        let (upper, lower) = if self.insensitive {
            (map_chars(text, Case::Upper), map_chars(text, Case::Lower))
        } else {
            (String::new(), String::new())
        };
        let (mut upper, mut lower) = (upper.chars(), lower.chars());
        loop {
            let cur = chars.peek().copied();
            let folded = match (cur, upper.next(), lower.next()) {
                (Some(c), Some(up), Some(lower)) => Some(Folded {
                    canon: canonical(c, up),
                    lower,
                }),
                _ => None,
            };
            // A new thread starts at every position (unanchored search).
            self.add_thread(&mut clist, &mut stack, 0, prev, cur);
            let mut matched = false;
            for i in 0..clist.len() {
                let pc = clist.get(i);
                match self.prog.get(pc as usize) {
                    Some(Inst::Match) => {
                        matched = true;
                        break;
                    }
                    Some(inst) => {
                        let Some(c) = cur else { continue };
                        let ok = match inst {
                            Inst::Char(want) => *want == folded.map_or(c, |f| f.canon),
                            Inst::Any => !is_line_terminator(c),
                            Inst::Class(idx) => self
                                .classes
                                .get(*idx as usize)
                                .is_some_and(|cl| cl.contains(c, folded)),
                            _ => false,
                        };
                        if ok {
                            let mut after = chars.clone();
                            after.next();
                            let next = after.peek().copied();
                            self.add_thread(&mut nlist, &mut stack, pc + 1, Some(c), next);
                        }
                    }
                    None => {}
                }
            }
            if matched {
                return true;
            }
            let Some(c) = chars.next() else { return false };
            prev = Some(c);
            std::mem::swap(&mut clist, &mut nlist);
            nlist.clear();
        }
    }

    /// Adds `pc` and everything reachable through jumps, splits and satisfied assertions.
    fn add_thread(
        &self,
        list: &mut SparseSet,
        stack: &mut Vec<u32>,
        pc: u32,
        prev: Option<char>,
        cur: Option<char>,
    ) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if !list.insert(pc) {
                continue;
            }
            match self.prog.get(pc as usize) {
                Some(Inst::Jmp(to)) => stack.push(*to),
                Some(Inst::Split(a, b)) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Some(Inst::Look(look)) => {
                    let word_prev = prev.is_some_and(is_word);
                    let word_cur = cur.is_some_and(is_word);
                    let ok = match look {
                        Look::Start => prev.is_none(),
                        Look::End => cur.is_none(),
                        Look::WordBoundary => word_prev != word_cur,
                        Look::NotWordBoundary => word_prev == word_cur,
                    };
                    if ok {
                        stack.push(pc + 1);
                    }
                }
                _ => {}
            }
        }
    }
}

/// A set of program counters with O(1) insert, clear and ordered iteration.
struct SparseSet {
    dense: Vec<u32>,
    sparse: Vec<u32>,
}

impl SparseSet {
    fn new(n: usize) -> SparseSet {
        SparseSet {
            dense: Vec::with_capacity(n),
            sparse: vec![0; n],
        }
    }
    fn len(&self) -> usize {
        self.dense.len()
    }
    fn get(&self, i: usize) -> u32 {
        self.dense.get(i).copied().unwrap_or(0)
    }
    fn insert(&mut self, v: u32) -> bool {
        let Some(&idx) = self.sparse.get(v as usize) else {
            return false;
        };
        if (idx as usize) < self.dense.len() && self.dense.get(idx as usize) == Some(&v) {
            return false;
        }
        if let Some(slot) = self.sparse.get_mut(v as usize) {
            *slot = self.dense.len() as u32;
        }
        self.dense.push(v);
        true
    }
    fn clear(&mut self) {
        self.dense.clear();
    }
}

#[cfg(test)]
mod tests;
