//! Seeded generators for PII values the FakeNameGenerator CSV lacks or holds corrupted
//! (its credit-card numbers were saved in scientific notation).

use crate::hashing::SeededRng;

/// A credit-card number with a valid Luhn check digit, grouped like printed cards:
/// Visa/Mastercard 16 digits in groups of 4, Amex 15 digits as 4-6-5.
pub fn credit_card(rng: &mut SeededRng) -> String {
    let (prefix, len, groups): (&str, usize, &[usize]) = match rng.below(3) {
        0 => ("4", 16, &[4, 4, 4, 4]),
        1 => (
            ["51", "52", "53", "54", "55"][rng.index(5)],
            16,
            &[4, 4, 4, 4],
        ),
        _ => (["34", "37"][rng.index(2)], 15, &[4, 6, 5]),
    };
    let mut digits: Vec<u8> = prefix.bytes().map(|b| b - b'0').collect();
    while digits.len() < len - 1 {
        digits.push(rng.below(10) as u8);
    }
    digits.push(luhn_check_digit(&digits));
    let plain: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    match rng.below(3) {
        0 => plain,
        n => {
            let sep = if n == 1 { " " } else { "-" };
            let mut parts = Vec::new();
            let mut at = 0;
            for g in groups {
                parts.push(&plain[at..at + g]);
                at += g;
            }
            parts.join(sep)
        }
    }
}

/// The Luhn check digit that makes `digits` + check valid.
pub fn luhn_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Whether a digit string (separators ignored) passes the Luhn check.
pub fn luhn_valid(number: &str) -> bool {
    let digits: Vec<u8> = number
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    match digits.split_last() {
        Some((&check, body)) => luhn_check_digit(body) == check,
        None => false,
    }
}

/// Country code and BBAN length (digits) of the IBAN formats generated.
const IBAN_FORMATS: [(&str, usize); 6] = [
    ("DE", 18),
    ("FR", 23),
    ("ES", 20),
    ("IT", 23),
    ("NL", 14),
    ("GB", 18),
];

/// An IBAN with correct ISO 13616 mod-97 check digits. The BBAN is numeric except for the
/// bank codes of IT (1 letter), NL and GB (4 letters), as in real IBANs; half are printed in
/// groups of four.
pub fn iban(rng: &mut SeededRng) -> String {
    let (country, len) = IBAN_FORMATS[rng.index(IBAN_FORMATS.len())];
    let letters = match country {
        "IT" => 1,
        "NL" | "GB" => 4,
        _ => 0,
    };
    let mut bban = String::new();
    for _ in 0..letters {
        bban.push(char::from(b'A' + rng.below(26) as u8));
    }
    while bban.len() < len {
        bban.push(rng.digit());
    }
    let check = 98 - iban_mod97(&format!("{bban}{country}00"));
    let iban = format!("{country}{check:02}{bban}");
    if rng.below(2) == 0 {
        iban
    } else {
        iban.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The ISO 7064 mod-97 remainder of an alphanumeric string (letters count as 10..35).
pub fn iban_mod97(s: &str) -> u32 {
    let mut rem: u32 = 0;
    for c in s.chars() {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => continue,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem
}

/// Whether an IBAN (spaces allowed) has valid check digits.
pub fn iban_valid(iban: &str) -> bool {
    let compact: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < 5 {
        return false;
    }
    let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
    iban_mod97(&rearranged) == 1
}

/// A US social security number in a valid range (area 001-899 except 666, group 01-99,
/// serial 0001-9999), dashed or plain.
pub fn us_ssn(rng: &mut SeededRng) -> String {
    let area = loop {
        let a = rng.range(1, 899);
        if a != 666 {
            break a;
        }
    };
    let group = rng.range(1, 99);
    let serial = rng.range(1, 9999);
    if rng.below(4) == 0 {
        format!("{area:03}{group:02}{serial:04}")
    } else {
        format!("{area:03}-{group:02}-{serial:04}")
    }
}

/// An IPv4 address (80 %) or a full IPv6 address (20 %).
pub fn ip_address(rng: &mut SeededRng) -> String {
    if rng.below(5) == 0 {
        (0..8)
            .map(|_| format!("{:x}", rng.below(0x10000)))
            .collect::<Vec<_>>()
            .join(":")
    } else {
        format!(
            "{}.{}.{}.{}",
            rng.range(1, 223),
            rng.below(256),
            rng.below(256),
            rng.range(1, 254)
        )
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Weekday names.
pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A date (sometimes with a time) between 1990 and 2025 in one of several common formats.
pub fn date_time(rng: &mut SeededRng) -> String {
    let year = rng.range(1990, 2025);
    let month = rng.range(1, 12);
    let day = rng.range(1, 28);
    let name = MONTHS[(month - 1) as usize];
    match rng.below(5) {
        0 => format!("{year}-{month:02}-{day:02}"),
        1 => format!("{month}/{day}/{year}"),
        2 => format!("{name} {day}, {year}"),
        3 => format!("{day} {name} {year}"),
        _ => format!(
            "{year}-{month:02}-{day:02} {:02}:{:02}",
            rng.below(24),
            rng.below(60)
        ),
    }
}

/// A flat/suite designator (`Apt. 12`, `Suite 400`, ...).
pub fn secondary_address(rng: &mut SeededRng) -> String {
    match rng.below(3) {
        0 => format!("Apt. {}", rng.range(1, 999)),
        1 => format!("Suite {}", rng.range(100, 999)),
        _ => format!("Unit {}", rng.range(1, 99)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_matches_known_numbers() {
        // 7992739871 is the textbook example with check digit 3
        assert_eq!(luhn_check_digit(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1]), 3);
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
    }

    #[test]
    fn iban_check_digits_match_a_published_example() {
        // the ECBS example IBAN
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(!iban_valid("GB83 WEST 1234 5698 7654 32"));
    }

    #[test]
    fn generated_values_are_valid() {
        let mut rng = SeededRng::new(11);
        for _ in 0..200 {
            let cc = credit_card(&mut rng);
            assert!(luhn_valid(&cc), "{cc}");
            let ib = iban(&mut rng);
            assert!(iban_valid(&ib), "{ib}");
            let ssn = us_ssn(&mut rng);
            let digits: String = ssn.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(digits.len(), 9, "{ssn}");
            assert!(
                !digits.starts_with("000") && !digits.starts_with("666"),
                "{ssn}"
            );
            let ip = ip_address(&mut rng);
            assert!(
                ip.split('.').count() == 4 || ip.split(':').count() == 8,
                "{ip}"
            );
        }
    }
}
