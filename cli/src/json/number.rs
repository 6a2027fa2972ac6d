//! Reading one number of a document: the only place the contract turns text into a value.
//! The text is read exactly ([`bnbound::exact::Decimal`], at most
//! [`bnbound::exact::MAX_NUMBER_LEN`] characters), then rounded once to the document's type
//! in the direction its rule names ([`Rule`]).

use super::{syntax, Error, Result};
use bnbound::exact::{Decimal, Format, Rounding};
use serde_json::value::RawValue;

/// How a number is turned into a value of the document's type.
///
/// ```
/// use bnbound_cli::json::{read_number, Rule};
/// use bnbound::exact::Format;
/// assert_eq!(read_number("0.5", Format::F32, Rule::Exact)?, 0.5);
/// assert!(read_number("0.7", Format::F32, Rule::Exact).is_err());
/// assert!(read_number("0.7", Format::F32, Rule::Down)? < 0.7);
/// # Ok::<(), bnbound_cli::json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Correctly rounded to nearest (ties to even): parameters, and the numbers of a
    /// document that states its `"dtype"` (it names floats of that type).
    Nearest,
    /// The largest value `≤` the decimal: lower endpoints of a document without `"dtype"`
    /// (it names real numbers; the box is read outward).
    Down,
    /// The smallest value `≥` the decimal: upper endpoints of a document without `"dtype"`.
    Up,
    /// The decimal must be a value of the type (else an error): documents without
    /// `"dtype"` that `check` decides exactly.
    Exact,
}

impl Rule {
    pub(super) const fn code(self) -> u8 {
        match self {
            Rule::Nearest => 0,
            Rule::Down => 1,
            Rule::Up => 2,
            Rule::Exact => 3,
        }
    }

    pub(super) const fn of_code(code: u8) -> Rule {
        match code {
            1 => Rule::Down,
            2 => Rule::Up,
            3 => Rule::Exact,
            _ => Rule::Nearest,
        }
    }
}

/// What a number stands for: a layer parameter (finite; a nonzero one must not become 0)
/// or an interval endpoint (may be `"inf"`/`"-inf"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    Parameter,
    Endpoint,
}

/// Reads the JSON number `text` (nothing else: no strings, no whitespace) as a value of
/// `format` by `rule`, returned as the `f64` holding it exactly. Soundness contract: the
/// value is the decimal rounded once, in the rule's direction (`Down` never above it, `Up`
/// never below it, `Nearest` correctly rounded, `Exact` the decimal itself or an error);
/// it may be `±∞` where the rounding gives it (callers reject that for values that must be
/// finite). Errors: a text longer than [`bnbound::exact::MAX_NUMBER_LEN`] characters
/// (decided from the length alone), not a JSON number, or inexact under `Rule::Exact`.
///
/// ```
/// use bnbound_cli::json::{read_number, Rule};
/// use bnbound::exact::Format;
/// // 1 written with 4000 leading zeros and a compensating exponent is 1.
/// let one = format!("0.{}1e4000", "0".repeat(3999));
/// assert_eq!(read_number(&one, Format::F64, Rule::Nearest)?, 1.0);
/// assert!(read_number(&"1".repeat(5000), Format::F64, Rule::Nearest).is_err());
/// # Ok::<(), bnbound_cli::json::Error>(())
/// ```
pub fn read_number(text: &str, format: Format, rule: Rule) -> Result<f64> {
    let at = || "number".to_string();
    read(text, format, rule, &at).map(|(x, _)| x)
}

/// [`read_number`] with the error naming `at`, also returning whether the decimal is zero.
fn read(text: &str, format: Format, rule: Rule, at: &dyn Fn() -> String) -> Result<(f64, bool)> {
    let d = Decimal::parse(text).map_err(|e| Error::Number {
        at: at(),
        reason: e.to_string(),
    })?;
    let rounding = match rule {
        Rule::Down => Rounding::Down,
        Rule::Up => Rounding::Up,
        Rule::Nearest | Rule::Exact => Rounding::Nearest,
    };
    let (x, exact) = d.round(format, rounding);
    if rule == Rule::Exact && !exact {
        return Err(Error::Number {
            at: at(),
            reason: format!(
                "{} is not a value of {} (a document without \"dtype\" names real numbers, \
                 and check decides exactly; state \"dtype\" to name the nearest values)",
                super::short(text),
                name(format)
            ),
        });
    }
    Ok((x, d.is_zero()))
}

fn name(format: Format) -> &'static str {
    match format {
        Format::F16 => "f16",
        Format::Bf16 => "bf16",
        Format::F32 => "f32",
        Format::F64 => "f64",
    }
}

/// One number of a document: a JSON number read by `rule`, or (for an endpoint) the
/// string `"inf"`/`"-inf"`. A finite decimal whose rounding is infinite is refused (write
/// `"inf"`), as is a nonzero parameter that rounds to zero. Every number of every document
/// is read here.
pub(super) fn number_at(
    raw: &RawValue,
    format: Format,
    rule: Rule,
    role: Role,
    at: &dyn Fn() -> String,
) -> Result<f64> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        let s: String = serde_json::from_str(text).map_err(|e| syntax(&at(), e))?;
        return match (s.as_str(), role) {
            ("inf", Role::Endpoint) => Ok(f64::INFINITY),
            ("-inf", Role::Endpoint) => Ok(f64::NEG_INFINITY),
            (_, Role::Endpoint) => Err(Error::Number {
                at: at(),
                reason: format!(
                    "expected a number, \"inf\" or \"-inf\", found the string {:?}",
                    super::short(&s)
                ),
            }),
            (_, Role::Parameter) => Err(Error::Number {
                at: at(),
                reason: format!("expected a number, found the string {:?}", super::short(&s)),
            }),
        };
    }
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(Error::Number {
            at: at(),
            reason: format!(
                "expected a number, \"inf\" or \"-inf\", found {}",
                super::short(text)
            ),
        });
    }
    let (x, zero) = read(text, format, rule, at)?;
    if x.is_infinite() {
        let hint = match role {
            Role::Parameter => "parameters must be finite",
            Role::Endpoint => "write \"inf\" or \"-inf\" for an unbounded endpoint",
        };
        return Err(Error::Number {
            at: at(),
            reason: format!(
                "{} is out of range for {} ({hint})",
                super::short(text),
                name(format)
            ),
        });
    }
    if x == 0.0 && !zero && role == Role::Parameter {
        return Err(Error::Number {
            at: at(),
            reason: format!(
                "{} underflows to 0 in {} (a nonzero parameter would silently become 0)",
                super::short(text),
                name(format)
            ),
        });
    }
    Ok(x)
}
