//! Detectors of values that look like plaintext secrets: what `crypt-model audit` looks for in
//! stored attributes. A finding says what was found and where in the text, never the text: an
//! audit's report must not become the leak it looks for.

use std::collections::HashMap;
use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;

/// What a detector looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// A payment card number (13 to 19 digits, a known issuer prefix, a valid Luhn check digit).
    CardNumber,
    /// A US Social Security number (`AAA-GG-SSSS`, the ranges the SSA never issues excluded).
    UsSsn,
    /// An email address.
    Email,
    /// A phone number (E.164, or the North American `(AAA) EEE-NNNN` forms).
    Phone,
    /// An AWS access key id (`AKIA…`, `ASIA…`, 20 characters).
    AwsAccessKey,
    /// A JSON Web Token (three base64url parts, the first a JSON header with `alg`).
    Jwt,
    /// A long string of high entropy: a key, a token or a password hash.
    HighEntropy,
    /// Not a detector's: a field the model marks sensitive, stored in plaintext (reported by an
    /// audit that knows the model, whatever the value looks like).
    SensitiveField,
}

impl Kind {
    /// The kind's stable name, as the `--json` report gives it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::CardNumber => "card_number",
            Kind::UsSsn => "us_ssn",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::AwsAccessKey => "aws_access_key",
            Kind::Jwt => "jwt",
            Kind::HighEntropy => "high_entropy",
            Kind::SensitiveField => "sensitive_field",
        }
    }

    /// The requirements a plaintext value of this kind touches, by stable id.
    pub fn requirements(self) -> &'static [&'static str] {
        match self {
            // PCI DSS v4.0 3.5.1: the PAN is rendered unreadable anywhere it is stored.
            Kind::CardNumber => &["PCI-DSS-4.0-3.5.1", "OWASP-API3-2023"],
            // Personal data: protected by appropriate measures such as encryption, and not
            // exposed as an object property.
            Kind::UsSsn | Kind::Email | Kind::Phone | Kind::SensitiveField => {
                &["GDPR-ART-32", "OWASP-API3-2023"]
            }
            // Credentials stored in the clear.
            Kind::AwsAccessKey | Kind::Jwt | Kind::HighEntropy => {
                &["SOC2-CC6.1", "OWASP-API8-2023"]
            }
        }
    }
}

/// One value found: its kind, and where it is in the text (byte offsets), never the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What it looks like.
    pub kind: Kind,
    /// Where it is in the text.
    pub span: std::ops::Range<usize>,
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("a detector's pattern is valid: {e}"))
}

/// Runs of 13 to 19 digits, optionally grouped by single spaces or hyphens.
static CARD: LazyLock<Regex> = LazyLock::new(|| regex(r"\b\d(?:[ -]?\d){12,18}\b"));
static SSN: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(\d{3})-(\d{2})-(\d{4})\b"));
/// Addresses in any script (`\w` is Unicode's word characters; a top-level domain is letters).
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}\b"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?:\+[1-9]\d{7,14}\b)|(?:\(\d{3}\) ?\d{3}-\d{4}\b)|(?:\b\d{3}[-.]\d{3}[-.]\d{4}\b)")
});
/// International numbers written in groups: `+44 20 7946 0958`, `+33 1 23 45 67 89`,
/// `+1 (415) 555-0123`, `+49 (0)30 1234567`, `+81-3-1234-5678`: a country code of one to three
/// digits, then groups each after a separator or in parentheses (checked: 8 to 15 digits, not
/// after a letter or a digit, not an address's four groups of dots).
static SPACED_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"\+[1-9][0-9]{0,2}(?:[ .-]?\([0-9]{1,5}\)[0-9]{0,5}|[ .-][0-9]{1,5}){2,7}")
});
static AWS_KEY: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"));
static JWT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}"));
static TOKEN: LazyLock<Regex> = LazyLock::new(|| regex(r"[A-Za-z0-9+/=_-]{24,}"));

/// Every value of `text` that looks like a secret, each reported once (a span claimed by a more
/// specific detector is not reported again as high entropy), in text order.
pub fn scan(text: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut push = |kind, span: std::ops::Range<usize>| found.push(Finding { kind, span });
    for m in CARD.find_iter(text) {
        let digits: Vec<u8> = m
            .as_str()
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|d| d - b'0')
            .collect();
        if is_card_number(&digits) {
            push(Kind::CardNumber, m.range());
        }
    }
    for c in SSN.captures_iter(text) {
        let part = |i: usize| c.get(i).map_or("", |m| m.as_str());
        let (area, group, serial) = (part(1), part(2), part(3));
        let issued = area != "000" && area != "666" && !area.starts_with('9');
        if issued
            && group != "00"
            && serial != "0000"
            && let Some(m) = c.get(0)
        {
            push(Kind::UsSsn, m.range());
        }
    }
    for m in EMAIL.find_iter(text) {
        push(Kind::Email, m.range());
    }
    for m in AWS_KEY.find_iter(text) {
        push(Kind::AwsAccessKey, m.range());
    }
    for m in JWT.find_iter(text) {
        if is_jwt(m.as_str()) {
            push(Kind::Jwt, m.range());
        }
    }
    // Phones and tokens last: a card number or an SSN also matches their shapes.
    let claimed: Vec<std::ops::Range<usize>> = found.iter().map(|f| f.span.clone()).collect();
    let overlaps = |span: &std::ops::Range<usize>| {
        claimed
            .iter()
            .any(|c| c.start < span.end && span.start < c.end)
    };
    let mut later = Vec::new();
    for m in PHONE.find_iter(text) {
        if !overlaps(&m.range()) {
            later.push(Finding {
                kind: Kind::Phone,
                span: m.range(),
            });
        }
    }
    // The phones found so far, in text order, walked once beside the grouped ones.
    let found_phones: Vec<std::ops::Range<usize>> = later.iter().map(|f| f.span.clone()).collect();
    let mut next = 0;
    for m in SPACED_PHONE.find_iter(text) {
        while next < found_phones.len() && found_phones[next].end <= m.start() {
            next += 1;
        }
        let taken = found_phones
            .get(next)
            .is_some_and(|phone| phone.start < m.end());
        let digits = m.as_str().bytes().filter(u8::is_ascii_digit).count();
        let after_a_word = text[..m.start()]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '+');
        let dotted = m.as_str().matches('.').count() >= 3 && !m.as_str().contains([' ', '-']);
        if (8..=15).contains(&digits) && !overlaps(&m.range()) && !taken && !after_a_word && !dotted
        {
            later.push(Finding {
                kind: Kind::Phone,
                span: m.range(),
            });
        }
    }
    for m in TOKEN.find_iter(text) {
        if !overlaps(&m.range()) && is_high_entropy(m.as_str()) {
            later.push(Finding {
                kind: Kind::HighEntropy,
                span: m.range(),
            });
        }
    }
    found.extend(later);
    found.sort_by_key(|f| (f.span.start, f.kind));
    found
}

/// Whether `text` is a phone number written as digits alone (7 to 15 of them, an optional
/// leading `+`): what an attribute named as a phone number holds when stored as a number.
pub fn is_phone_digits(text: &str) -> bool {
    let digits = text.strip_prefix('+').unwrap_or(text);
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A card number: 13 to 19 digits, an issuer prefix of the major networks, and a valid Luhn
/// check digit.
fn is_card_number(digits: &[u8]) -> bool {
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let prefix = |n: usize| {
        digits[..n]
            .iter()
            .fold(0u32, |acc, &d| acc * 10 + u32::from(d))
    };
    let known_issuer = digits[0] == 4                                    // Visa
        || (51..=55).contains(&prefix(2))                                // Mastercard
        || (2221..=2720).contains(&prefix(4))                            // Mastercard 2-series
        || matches!(prefix(2), 34 | 37)                                  // American Express
        || prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)) // Discover
        || (3528..=3589).contains(&prefix(4))                            // JCB
        || matches!(prefix(2), 36 | 38 | 39) || (300..=305).contains(&prefix(3)) // Diners
        || prefix(2) == 62; // UnionPay
    known_issuer && luhn(digits)
}

/// The Luhn check.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A JWT: its first part decodes (base64url) to a JSON object naming an `alg`.
fn is_jwt(candidate: &str) -> bool {
    let Some(header) = candidate.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|header| header.get("alg").is_some())
}

/// A token of high entropy: at least 24 characters, a mix of character classes, and over 4.0
/// bits of Shannon entropy per character (hex keys: over 3.0, with at least 32 digits).
fn is_high_entropy(candidate: &str) -> bool {
    let entropy = shannon(candidate);
    let is_hex = candidate.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        return candidate.len() >= 32 && entropy > 3.0;
    }
    let classes = [
        candidate.bytes().any(|b| b.is_ascii_lowercase()),
        candidate.bytes().any(|b| b.is_ascii_uppercase()),
        candidate.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|&&present| present)
    .count();
    classes >= 2 && entropy > 4.0
}

/// Shannon entropy in bits per character.
fn shannon(text: &str) -> f64 {
    let mut counts: HashMap<u8, usize> = HashMap::new();
    for b in text.bytes() {
        *counts.entry(b).or_default() += 1;
    }
    let len = text.len() as f64;
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        scan(text).into_iter().map(|f| f.kind).collect()
    }

    #[test]
    fn card_numbers_need_an_issuer_and_the_luhn_digit() {
        for card in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "5500-0000-0000-0004",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
        ] {
            assert_eq!(kinds(card), [Kind::CardNumber], "{card}");
        }
        // A wrong check digit, an unknown issuer, too short: not cards.
        for other in ["4111111111111112", "9111111111111111", "411111111111"] {
            assert!(!kinds(other).contains(&Kind::CardNumber), "{other}");
        }
        let text = "paid with 4111 1111 1111 1111 yesterday";
        let found = scan(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].span.clone()], "4111 1111 1111 1111");
    }

    #[test]
    fn ssns_outside_the_issued_ranges_are_not_ssns() {
        assert_eq!(kinds("078-05-1120"), [Kind::UsSsn]);
        assert_eq!(kinds("ssn: 123-45-6789."), [Kind::UsSsn]);
        for never_issued in [
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(
                !kinds(never_issued).contains(&Kind::UsSsn),
                "{never_issued}"
            );
        }
    }

    #[test]
    fn emails_phones_keys_and_tokens() {
        assert_eq!(kinds("write to alice@example.com"), [Kind::Email]);
        assert_eq!(kinds("+14155550123"), [Kind::Phone]);
        assert_eq!(kinds("(415) 555-0123"), [Kind::Phone]);
        assert_eq!(kinds("415-555-0123"), [Kind::Phone]);
        // International numbers in groups, and addresses in other scripts.
        for spaced in [
            "+44 20 7946 0958",
            "+33 1 23 45 67 89",
            "+1 (415) 555-0123",
            "+49 (0)30 1234567",
            "+91 98765 43210",
            "call +81-3-1234-5678 today",
        ] {
            assert_eq!(kinds(spaced), [Kind::Phone], "{spaced}");
        }
        for email in ["josé@exemple.fr", "пользователь@пример.рф", "李@例え.jp"]
        {
            assert_eq!(kinds(email), [Kind::Email], "{email}");
        }
        // Not phones: a version, too few digits, a date, an offset before a date, an address.
        for not in [
            "+1.2.3",
            "+12 34",
            "v+2 3 4",
            "+2024-01-15",
            "UTC+1 2024-01-15",
            "+10.20.30.40",
        ] {
            assert!(kinds(not).is_empty(), "{not}");
        }
        assert!(super::is_phone_digits("14155550123") && super::is_phone_digits("+4930123456"));
        assert!(!super::is_phone_digits("123456") && !super::is_phone_digits("1765000000.5"));
        assert_eq!(kinds("AKIAIOSFODNN7EXAMPLE"), [Kind::AwsAccessKey]);
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.\
                   dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(kinds(jwt), [Kind::Jwt]);
        assert_eq!(
            kinds("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            [Kind::HighEntropy]
        );
        assert_eq!(
            kinds("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
            [Kind::HighEntropy]
        );
    }

    #[test]
    fn ordinary_text_finds_nothing() {
        for text in [
            "",
            "Alice",
            "basic",
            "2026-11-28T12:00:00Z",
            "order 12345 shipped",
            "the quick brown fox jumps over the lazy dog",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "550e8400-e29b-41d4-a716-446655440000",
        ] {
            assert!(scan(text).is_empty(), "{text}: {:?}", kinds(text));
        }
    }

    #[test]
    fn every_kind_names_its_requirements() {
        for kind in [
            Kind::CardNumber,
            Kind::UsSsn,
            Kind::Email,
            Kind::Phone,
            Kind::AwsAccessKey,
            Kind::Jwt,
            Kind::HighEntropy,
        ] {
            assert!(!kind.requirements().is_empty());
            assert!(!kind.name().is_empty());
        }
        assert_eq!(Kind::CardNumber.requirements()[0], "PCI-DSS-4.0-3.5.1");
    }
}
