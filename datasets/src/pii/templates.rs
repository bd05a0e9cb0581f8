//! presidio-evaluator's sentence templates filled with fake identities (seeded), recording the
//! character span and entity type of every inserted value.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::hashing::SeededRng;
use crate::pii::generators;

/// Path of the templates inside the presidio-evaluator wheel.
pub const TEMPLATES_PATH: &str = "presidio_evaluator/data_generator/raw_data/templates.txt";
/// Path of the fake identities inside the presidio-evaluator wheel.
pub const IDENTITIES_PATH: &str =
    "presidio_evaluator/data_generator/raw_data/FakeNameGenerator.com_3000.csv";
/// Path of the nationality table inside the presidio-evaluator wheel.
pub const NATIONALITIES_PATH: &str = "presidio_evaluator/data_generator/raw_data/nationalities.csv";
/// Path of the driver-licence numbers inside the presidio-evaluator wheel.
pub const DRIVER_LICENSES_PATH: &str =
    "presidio_evaluator/data_generator/raw_data/us_driver_licenses.csv";

/// Every entity type the generator emits, sorted.
pub const ENTITY_TYPES: [&str; 16] = [
    "ADDRESS",
    "AGE",
    "CREDIT_CARD",
    "DATE_TIME",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "LOCATION",
    "NRP",
    "ORGANIZATION",
    "PERSON",
    "PHONE_NUMBER",
    "URL",
    "US_DRIVER_LICENSE",
    "US_SSN",
    "ZIP_CODE",
];

/// One template line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// 1-based line in templates.txt.
    pub line: usize,
    /// Template text (`\n` escapes already turned into newlines).
    pub text: String,
}

/// One fake identity (a row of the FakeNameGenerator CSV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `male` / `female`.
    pub gender: String,
    /// `Mr.`, `Mrs.`, ...
    pub title: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub surname: String,
    /// House number and street.
    pub street_address: String,
    /// City.
    pub city: String,
    /// State / region code.
    pub state: String,
    /// Post code.
    pub zip_code: String,
    /// Country name.
    pub country_full: String,
    /// e-mail address.
    pub email: String,
    /// Phone number as written in the country.
    pub telephone: String,
    /// Phone country calling code.
    pub telephone_country_code: String,
    /// Birthday (M/D/YYYY).
    pub birthday: String,
    /// Age in years.
    pub age: String,
    /// Company name.
    pub company: String,
    /// Occupation.
    pub occupation: String,
    /// A web domain.
    pub domain: String,
}

/// One nationality row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nationality {
    /// Adjective (`algerian`).
    pub nationality: String,
    /// Form for a woman.
    pub woman: String,
    /// Plural noun.
    pub plural: String,
}

/// Everything the generator reads.
#[derive(Debug, Clone)]
pub struct PiiSources {
    /// Templates.
    pub templates: Vec<Template>,
    /// Fake identities.
    pub identities: Vec<Identity>,
    /// Nationalities.
    pub nationalities: Vec<Nationality>,
    /// US driver-licence numbers.
    pub driver_licenses: Vec<String>,
}

/// A labelled character span (char offsets, end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// First char.
    pub start: usize,
    /// One past the last char.
    pub end: usize,
    /// Entity type.
    pub label: String,
}

/// A filled template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilledText {
    /// The sentence.
    pub text: String,
    /// Entity spans, in text order.
    pub spans: Vec<Span>,
    /// Template line it came from.
    pub template_line: usize,
}

/// Parses templates.txt: one template per non-empty line; literal `\n` becomes a newline.
pub fn parse_templates(text: &str) -> Vec<Template> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Template {
            line: i + 1,
            text: l.trim().replace("\\n", "\n"),
        })
        .collect()
}

fn csv_records(file: &str, text: &str) -> Result<(csv::StringRecord, Vec<csv::StringRecord>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Error::bad_input(file, "header", e.to_string()))?
        .clone();
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        rows.push(
            rec.map_err(|e| Error::bad_input(file, format!("row {}", i + 2), e.to_string()))?,
        );
    }
    Ok((headers, rows))
}

fn column(file: &str, headers: &csv::StringRecord, name: &str) -> Result<usize> {
    headers
        .iter()
        .position(|h| h.trim_start_matches('\u{feff}') == name)
        .ok_or_else(|| Error::bad_input(file, "header", format!("missing column {name:?}")))
}

/// Parses the FakeNameGenerator CSV.
pub fn parse_identities(text: &str) -> Result<Vec<Identity>> {
    let file = IDENTITIES_PATH;
    let (headers, rows) = csv_records(file, text)?;
    let names = [
        "Gender",
        "Title",
        "GivenName",
        "Surname",
        "StreetAddress",
        "City",
        "State",
        "ZipCode",
        "CountryFull",
        "EmailAddress",
        "TelephoneNumber",
        "TelephoneCountryCode",
        "Birthday",
        "Age",
        "Company",
        "Occupation",
        "Domain",
    ];
    let idx: Vec<usize> = names
        .iter()
        .map(|n| column(file, &headers, n))
        .collect::<Result<_>>()?;
    rows.iter()
        .enumerate()
        .map(|(r, rec)| {
            let get = |k: usize| -> Result<String> {
                let v = rec.get(idx[k]).unwrap_or("").trim();
                if v.is_empty() && k < 4 {
                    return Err(Error::bad_input(
                        file,
                        format!("row {}, field {}", r + 2, names[k]),
                        "empty value",
                    ));
                }
                Ok(v.to_string())
            };
            Ok(Identity {
                gender: get(0)?,
                title: get(1)?,
                given_name: get(2)?,
                surname: get(3)?,
                street_address: get(4)?,
                city: get(5)?,
                state: get(6)?,
                zip_code: get(7)?,
                country_full: get(8)?,
                email: get(9)?,
                telephone: get(10)?,
                telephone_country_code: get(11)?,
                birthday: get(12)?,
                age: get(13)?,
                company: get(14)?,
                occupation: get(15)?,
                domain: get(16)?,
            })
        })
        .collect()
}

/// Parses nationalities.csv (`country,nationality,man,woman,plural`).
pub fn parse_nationalities(text: &str) -> Result<Vec<Nationality>> {
    let file = NATIONALITIES_PATH;
    let (headers, rows) = csv_records(file, text)?;
    let (n, w, p) = (
        column(file, &headers, "nationality")?,
        column(file, &headers, "woman")?,
        column(file, &headers, "plural")?,
    );
    Ok(rows
        .iter()
        .filter(|r| !r.get(n).unwrap_or("").is_empty())
        .map(|r| Nationality {
            nationality: capitalize(r.get(n).unwrap_or("")),
            woman: capitalize(r.get(w).unwrap_or("")),
            plural: capitalize(r.get(p).unwrap_or("")),
        })
        .collect())
}

/// Parses us_driver_licenses.csv (one column).
pub fn parse_driver_licenses(text: &str) -> Result<Vec<String>> {
    let (_, rows) = csv_records(DRIVER_LICENSES_PATH, text)?;
    Ok(rows
        .iter()
        .filter_map(|r| r.get(0).map(str::trim).filter(|v| !v.is_empty()))
        .map(str::to_string)
        .collect())
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Splits a template into literal text and placeholder names (`{{name}}`, spaces allowed).
fn pieces(template: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        if open > 0 {
            out.push((false, &rest[..open]));
        }
        out.push((true, rest[open + 2..open + close].trim()));
        rest = &rest[open + close + 2..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    out
}

/// Placeholder names in a template.
pub fn placeholders(template: &str) -> Vec<&str> {
    pieces(template)
        .into_iter()
        .filter(|(p, _)| *p)
        .map(|(_, s)| s)
        .collect()
}

/// Picks identities for one fill: one "main" person plus gendered alternatives.
struct Cast<'a> {
    main: &'a Identity,
    female: &'a Identity,
    male: &'a Identity,
}

fn pick_gender<'a>(ids: &'a [Identity], rng: &mut SeededRng, gender: &str) -> &'a Identity {
    let start = rng.index(ids.len());
    (0..ids.len())
        .map(|k| &ids[(start + k) % ids.len()])
        .find(|id| id.gender == gender)
        .unwrap_or(&ids[start])
}

impl PiiSources {
    /// Fills `template` once from `rng`. Placeholders without an entity type (`prefix*`,
    /// `job`) are filled but not labelled.
    pub fn fill(&self, template: &Template, rng: &mut SeededRng) -> Result<FilledText> {
        let ids = &self.identities;
        if ids.is_empty() || self.nationalities.is_empty() || self.driver_licenses.is_empty() {
            return Err(Error::bad_input(
                IDENTITIES_PATH,
                "all rows",
                "no identities / nationalities / driver licences to fill templates with",
            ));
        }
        let cast = Cast {
            main: &ids[rng.index(ids.len())],
            female: pick_gender(ids, rng, "female"),
            male: pick_gender(ids, rng, "male"),
        };
        let mut text = String::new();
        let mut spans = Vec::new();
        let mut chars = 0usize;
        for (is_slot, piece) in pieces(&template.text) {
            let (value, label) = if is_slot {
                self.value(piece, &cast, rng).ok_or_else(|| {
                    Error::bad_input(
                        TEMPLATES_PATH,
                        format!("line {}", template.line),
                        format!("unknown placeholder {{{{{piece}}}}}"),
                    )
                })?
            } else {
                (piece.to_string(), None)
            };
            let len = value.chars().count();
            if let Some(label) = label {
                spans.push(Span {
                    start: chars,
                    end: chars + len,
                    label: label.to_string(),
                });
            }
            chars += len;
            text.push_str(&value);
        }
        Ok(FilledText {
            text,
            spans,
            template_line: template.line,
        })
    }

    fn value(
        &self,
        name: &str,
        cast: &Cast<'_>,
        rng: &mut SeededRng,
    ) -> Option<(String, Option<&'static str>)> {
        let m = cast.main;
        let street_number = m
            .street_address
            .split_whitespace()
            .next()
            .filter(|w| w.chars().all(|c| c.is_ascii_digit()));
        let v: (String, Option<&'static str>) = match name {
            "person" | "name" => (format!("{} {}", m.given_name, m.surname), Some("PERSON")),
            "name_female" => (
                format!("{} {}", cast.female.given_name, cast.female.surname),
                Some("PERSON"),
            ),
            "name_male" => (
                format!("{} {}", cast.male.given_name, cast.male.surname),
                Some("PERSON"),
            ),
            "first_name" | "first_name_nonbinary" => (m.given_name.clone(), Some("PERSON")),
            "first_name_female" => (cast.female.given_name.clone(), Some("PERSON")),
            "first_name_male" => (cast.male.given_name.clone(), Some("PERSON")),
            "last_name" => (m.surname.clone(), Some("PERSON")),
            "last_name_female" => (cast.female.surname.clone(), Some("PERSON")),
            "last_name_male" => (cast.male.surname.clone(), Some("PERSON")),
            "prefix" => (m.title.clone(), None),
            "prefix_female" => (cast.female.title.clone(), None),
            "prefix_male" => (cast.male.title.clone(), None),
            "job" => (m.occupation.clone(), None),
            "address" => (
                format!(
                    "{}, {}, {} {}",
                    m.street_address, m.city, m.state, m.zip_code
                ),
                Some("ADDRESS"),
            ),
            "street_name" => {
                let street = match street_number {
                    Some(n) => m.street_address[n.len()..].trim().to_string(),
                    None => m.street_address.clone(),
                };
                (street, Some("ADDRESS"))
            }
            "building_number" => (
                street_number
                    .map(str::to_string)
                    .unwrap_or_else(|| rng.range(1, 9999).to_string()),
                Some("ADDRESS"),
            ),
            "secondary_address" => (generators::secondary_address(rng), Some("ADDRESS")),
            "city" => (m.city.clone(), Some("LOCATION")),
            "country" => (m.country_full.clone(), Some("LOCATION")),
            "state_abbr" => (m.state.clone(), Some("LOCATION")),
            "postcode" | "zipcode" => (m.zip_code.clone(), Some("ZIP_CODE")),
            "organization" => (m.company.clone(), Some("ORGANIZATION")),
            "email" => (m.email.clone(), Some("EMAIL_ADDRESS")),
            "phone_number" => {
                let phone = if rng.below(3) == 0 && !m.telephone_country_code.is_empty() {
                    format!("+{} {}", m.telephone_country_code, m.telephone)
                } else {
                    m.telephone.clone()
                };
                (phone, Some("PHONE_NUMBER"))
            }
            "age" => (m.age.clone(), Some("AGE")),
            "date_of_birth" => (m.birthday.clone(), Some("DATE_TIME")),
            "date_time" => (generators::date_time(rng), Some("DATE_TIME")),
            "year" => (rng.range(1950, 2025).to_string(), Some("DATE_TIME")),
            "day_of_week" => (
                generators::WEEKDAYS[rng.index(generators::WEEKDAYS.len())].to_string(),
                Some("DATE_TIME"),
            ),
            "nationality" | "nation_woman" | "nation_plural" => {
                let n = &self.nationalities[rng.index(self.nationalities.len())];
                let v = match name {
                    "nationality" => &n.nationality,
                    "nation_woman" => &n.woman,
                    _ => &n.plural,
                };
                (v.clone(), Some("NRP"))
            }
            "url" => {
                let domain = m.domain.to_lowercase();
                let url = match rng.below(3) {
                    0 => format!("https://www.{domain}"),
                    1 => format!("http://{domain}/{}", rng.range(100, 99_999)),
                    _ => format!("www.{domain}"),
                };
                (url, Some("URL"))
            }
            "credit_card_number" => (generators::credit_card(rng), Some("CREDIT_CARD")),
            "iban" => (generators::iban(rng), Some("IBAN_CODE")),
            "ssn" => (generators::us_ssn(rng), Some("US_SSN")),
            "ip_address" => (generators::ip_address(rng), Some("IP_ADDRESS")),
            "us_driver_license" => (
                self.driver_licenses[rng.index(self.driver_licenses.len())].clone(),
                Some("US_DRIVER_LICENSE"),
            ),
            _ => return None,
        };
        Some(v)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny hand-written source set for unit tests.
    pub(crate) fn fixture() -> PiiSources {
        let identities = parse_identities(
            "\u{feff}Number,Gender,NameSet,Title,GivenName,MiddleInitial,Surname,StreetAddress,City,State,StateFull,ZipCode,Country,CountryFull,EmailAddress,Username,Password,TelephoneNumber,TelephoneCountryCode,MothersMaiden,Birthday,Age,CCType,CCNumber,CVV2,CCExpires,NationalID,Occupation,Company,Domain\n\
             1,female,x,Ms.,Anna,B,Lind,12 Elm Street,Springfield,IL,Illinois,62701,US,United States,anna@example.com,u,p,217-555-0101,1,m,3/4/1980,39,Visa,0,1,Jan-20,,Nurse,Acme Corp,example.com\n\
             2,male,x,Mr.,Jörg,C,Weiß,Hauptstraße 5,Köln,NW,NRW,50667,DE,Germany,joerg@example.de,u,p,0221 123456,49,m,5/6/1970,49,Visa,0,1,Jan-20,,Baker,Brot GmbH,example.de\n",
        )
        .unwrap();
        PiiSources {
            templates: parse_templates(
                "My name is {{person}} and my card is {{credit_card_number}}\n\
                 \n\
                 Write to {{ email }} or visit {{url}}\\nThanks, {{first_name_male}}\n\
                 No entities here.\n",
            ),
            identities,
            nationalities: parse_nationalities("country,nationality,man,woman,plural\nfrance,french,frenchman,frenchwoman,french\n").unwrap(),
            driver_licenses: parse_driver_licenses("us_driver_license\nS530-460-99-424-0\n").unwrap(),
        }
    }

    #[test]
    fn templates_parse_with_line_numbers_and_newlines() {
        let src = fixture();
        assert_eq!(src.templates.len(), 3);
        assert_eq!(src.templates[1].line, 3);
        assert!(src.templates[1].text.contains("\nThanks"));
        assert_eq!(
            placeholders(&src.templates[1].text),
            vec!["email", "url", "first_name_male"]
        );
        assert_eq!(src.identities[1].given_name, "Jörg");
        assert_eq!(src.nationalities[0].woman, "Frenchwoman");
    }

    #[test]
    fn spans_cover_exactly_the_inserted_values() {
        let src = fixture();
        let mut rng = SeededRng::new(5);
        for t in &src.templates {
            for _ in 0..20 {
                let f = src.fill(t, &mut rng).unwrap();
                let chars: Vec<char> = f.text.chars().collect();
                for s in &f.spans {
                    let value: String = chars[s.start..s.end].iter().collect();
                    assert!(!value.is_empty());
                    match s.label.as_str() {
                        "CREDIT_CARD" => assert!(generators::luhn_valid(&value), "{value}"),
                        "EMAIL_ADDRESS" => assert!(value.contains('@'), "{value}"),
                        "PERSON" => assert!(
                            ["Anna", "Jörg", "Lind", "Weiß"]
                                .iter()
                                .any(|n| value.contains(n)),
                            "{value}"
                        ),
                        "URL" => assert!(value.contains("example."), "{value}"),
                        other => panic!("unexpected label {other}"),
                    }
                }
                let expected_spans = placeholders(&t.text).len();
                assert_eq!(f.spans.len(), expected_spans, "{}", f.text);
            }
        }
        // the male first name always comes from the male identity
        let f = src.fill(&src.templates[1], &mut rng).unwrap();
        assert!(f.text.ends_with("Thanks, Jörg"), "{}", f.text);
    }

    #[test]
    fn unknown_placeholder_names_line_and_placeholder() {
        let mut src = fixture();
        src.templates = parse_templates("ok\nhello {{favourite_colour}}\n");
        let err = src
            .fill(&src.templates[1], &mut SeededRng::new(1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("favourite_colour"),
            "{err}"
        );
    }
}
