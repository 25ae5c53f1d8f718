//! Fictional test persons per jurisdiction. Every name, address, e-mail address and telephone
//! number is invented (telephone numbers use the fictional 555-01xx range).

use serde_json::{Map, Value, json};

use super::Person;

/// Where a person was born (OpenID Connect for Identity Assurance `place_of_birth`).
struct Birthplace {
    country: &'static str,
    region: Option<&'static str>,
    locality: &'static str,
}

/// A Canadian address.
struct Address {
    street: String,
    locality: &'static str,
    region: &'static str,
    postal_code: &'static str,
}

struct Seed {
    id: String,
    given: &'static str,
    middle: Option<&'static str>,
    family: &'static str,
    birthdate: &'static str,
    gender: &'static str,
    born: Birthplace,
    address: Address,
    email: String,
    phone: String,
    locale: &'static str,
}

fn person(seed: Seed) -> Person {
    let address = &seed.address;
    let mut claims = Map::new();
    let mut put = |name: &str, value: Value| {
        claims.insert(name.to_owned(), value);
    };
    put("given_name", seed.given.into());
    if let Some(middle) = seed.middle {
        put("middle_name", middle.into());
    }
    put("family_name", seed.family.into());
    put("birthdate", seed.birthdate.into());
    put("gender", seed.gender.into());
    let mut born = json!({ "country": seed.born.country, "locality": seed.born.locality });
    if let (Some(region), Some(object)) = (seed.born.region, born.as_object_mut()) {
        object.insert("region".into(), region.into());
    }
    put("place_of_birth", born);
    put(
        "address",
        json!({
            "formatted": format!("{}\n{} {}  {}\nCanada", address.street, address.locality, address.region, address.postal_code),
            "street_address": address.street,
            "locality": address.locality,
            "region": address.region,
            "postal_code": address.postal_code,
            "country": "CA",
        }),
    );
    put("email", seed.email.into());
    put("email_verified", true.into());
    put("phone_number", seed.phone.into());
    put("locale", seed.locale.into());
    Person {
        id: seed.id,
        claims,
    }
}

/// A compact row: id, given, middle, family, birthdate, gender, born (country, region,
/// locality), address (street, locality, region, postal code), telephone, locale.
type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    (&'static str, Option<&'static str>, &'static str),
    (&'static str, &'static str, &'static str, &'static str),
    &'static str,
    &'static str,
);

fn from_row(row: Row) -> Person {
    let (id, given, middle, family, birthdate, gender, born, address, phone, locale) = row;
    let local = id.split_once('-').map_or(id, |(_, rest)| rest);
    person(Seed {
        id: id.to_owned(),
        given,
        middle,
        family,
        birthdate,
        gender,
        born: Birthplace {
            country: born.0,
            region: born.1,
            locality: born.2,
        },
        address: Address {
            street: address.0.to_owned(),
            locality: address.1,
            region: address.2,
            postal_code: address.3,
        },
        email: format!("{}@example.ca", local.replace('-', ".")),
        phone: phone.to_owned(),
        locale,
    })
}

const ALBERTA: [Row; 3] = [
    (
        "ab-amelie-tremblay",
        "Amélie",
        Some("Josée"),
        "Tremblay",
        "1988-03-14",
        "female",
        ("CA", Some("AB"), "Bonnyville"),
        ("10215 97 Street NW", "Edmonton", "AB", "T5J 2N9"),
        "+1 780 555 0142",
        "fr-CA",
    ),
    (
        "ab-daniel-okafor",
        "Daniel",
        Some("Chukwuemeka"),
        "Okafor",
        "1975-11-02",
        "male",
        ("CA", Some("AB"), "Calgary"),
        ("1407 17 Avenue SW", "Calgary", "AB", "T2T 0C6"),
        "+1 403 555 0187",
        "en-CA",
    ),
    (
        "ab-sarah-cardinal",
        "Sarah",
        None,
        "Cardinal",
        "2001-06-21",
        "female",
        ("CA", Some("AB"), "Lac La Biche"),
        ("10105 100 Avenue", "Lac La Biche", "AB", "T0A 2C0"),
        "+1 780 555 0119",
        "en-CA",
    ),
];

const BRITISH_COLUMBIA: [Row; 3] = [
    (
        "bc-harpreet-sandhu",
        "Harpreet",
        Some("Kaur"),
        "Sandhu",
        "1992-09-30",
        "female",
        ("CA", Some("BC"), "Surrey"),
        ("13450 104 Avenue", "Surrey", "BC", "V3T 1V8"),
        "+1 604 555 0163",
        "en-CA",
    ),
    (
        "bc-wei-chen",
        "Wei",
        None,
        "Chen",
        "1968-01-25",
        "male",
        ("CA", Some("BC"), "Vancouver"),
        ("2150 West 41st Avenue", "Vancouver", "BC", "V6M 1Z4"),
        "+1 604 555 0128",
        "en-CA",
    ),
    (
        "bc-jordan-joe",
        "Jordan",
        None,
        "Joe",
        "1999-04-12",
        "non-binary",
        ("CA", Some("BC"), "Squamish"),
        ("1011 Fort Street", "Victoria", "BC", "V8V 3K5"),
        "+1 250 555 0105",
        "en-CA",
    ),
];

const QUEBEC: [Row; 3] = [
    (
        "qc-marie-eve-gagnon",
        "Marie-Ève",
        None,
        "Gagnon",
        "1983-07-08",
        "female",
        ("CA", Some("QC"), "Québec"),
        ("815, rue Saint-Jean", "Québec", "QC", "G1R 1R2"),
        "+1 418 555 0176",
        "fr-CA",
    ),
    (
        "qc-jean-francois-roy",
        "Jean-François",
        Some("Luc"),
        "Roy",
        "1959-12-19",
        "male",
        ("CA", Some("QC"), "Trois-Rivières"),
        ("4520, avenue Papineau", "Montréal", "QC", "H2H 1V3"),
        "+1 514 555 0134",
        "fr-CA",
    ),
    (
        "qc-patrick-obrien",
        "Patrick",
        None,
        "O'Brien",
        "1996-02-29",
        "male",
        ("CA", Some("QC"), "Montréal"),
        (
            "2500, boulevard de l'Université",
            "Sherbrooke",
            "QC",
            "J1K 2R1",
        ),
        "+1 819 555 0191",
        "en-CA",
    ),
];

/// Persons born outside Canada (the federal provider attests them).
const BORN_ABROAD: [Row; 3] = [
    (
        "ca-lan-nguyen",
        "Lan",
        Some("Thị"),
        "Nguyễn",
        "1979-05-17",
        "female",
        ("VN", None, "Huế"),
        ("88 Somerset Street West", "Ottawa", "ON", "K2P 0H3"),
        "+1 613 555 0152",
        "en-CA",
    ),
    (
        "ca-carlos-mendoza",
        "Carlos",
        Some("Alberto"),
        "Mendoza",
        "1985-10-03",
        "male",
        ("MX", Some("JAL"), "Guadalajara"),
        ("455 Ellice Avenue", "Winnipeg", "MB", "R3B 1Y4"),
        "+1 204 555 0110",
        "en-CA",
    ),
    (
        "ca-aminata-diallo",
        "Aminata",
        None,
        "Diallo",
        "1994-08-11",
        "female",
        ("SN", None, "Dakar"),
        ("6700, rue Saint-Denis", "Montréal", "QC", "H2S 2S2"),
        "+1 514 555 0170",
        "fr-CA",
    ),
];

/// Capital, region, postal code and area code for the other provinces and territories.
fn capital(region: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    match region {
        "ON" => ("Toronto", "ON", "M5V 2T6", "416"),
        "MB" => ("Winnipeg", "MB", "R3C 0V8", "204"),
        "SK" => ("Regina", "SK", "S4P 3V7", "306"),
        "NS" => ("Halifax", "NS", "B3J 1S9", "902"),
        "NB" => ("Fredericton", "NB", "E3B 1B2", "506"),
        "NL" => ("St. John's", "NL", "A1C 5M2", "709"),
        "PE" => ("Charlottetown", "PE", "C1A 1N4", "902"),
        "YT" => ("Whitehorse", "YT", "Y1A 2C6", "867"),
        "NT" => ("Yellowknife", "NT", "X1A 2P3", "867"),
        "NU" => ("Iqaluit", "NU", "X0A 0H0", "867"),
        _ => ("Ottawa", "ON", "K1P 5J2", "613"),
    }
}

/// Three persons for any other jurisdiction, living in its capital.
fn generic(code: &str) -> Vec<Person> {
    let region = code
        .strip_prefix("CA-")
        .unwrap_or(code)
        .to_ascii_uppercase();
    let mut prefix: String = region
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if prefix.is_empty() || prefix == "ab" || prefix == "bc" || prefix == "qc" || prefix == "ca" {
        prefix.push('x');
    }
    let (locality, province, postal_code, area) = capital(&region);
    let people = [
        (
            "alex-martin",
            "Alex",
            None,
            "Martin",
            "1990-01-15",
            "male",
            "25 King Street",
            "en-CA",
            "0101",
        ),
        (
            "chloe-bouchard",
            "Chloé",
            Some("Anne"),
            "Bouchard",
            "1972-08-05",
            "female",
            "310 Queen Street",
            "fr-CA",
            "0102",
        ),
        (
            "ravi-patel",
            "Ravi",
            None,
            "Patel",
            "2003-11-23",
            "male",
            "42 Water Street",
            "en-CA",
            "0103",
        ),
    ];
    people
        .into_iter()
        .map(
            |(local, given, middle, family, birthdate, gender, street, locale, line)| {
                person(Seed {
                    id: format!("{prefix}-{local}"),
                    given,
                    middle,
                    family,
                    birthdate,
                    gender,
                    born: Birthplace {
                        country: "CA",
                        region: Some(province),
                        locality,
                    },
                    address: Address {
                        street: street.to_owned(),
                        locality,
                        region: province,
                        postal_code,
                    },
                    email: format!("{}.{prefix}@example.ca", local.replace('-', ".")),
                    phone: format!("+1 {area} 555 {line}"),
                    locale,
                })
            },
        )
        .collect()
}

/// About three realistic, diverse fictional persons for a jurisdiction code: `CA-AB`, `CA-BC`,
/// `CA-QC`, `CA` (persons born abroad), and a generic set for any other code. Person ids are
/// unique across jurisdictions and start with the jurisdiction (`ab-amelie-tremblay`).
pub fn test_persons(jurisdiction_code: &str) -> Vec<Person> {
    let rows: &[Row] = match jurisdiction_code.to_ascii_uppercase().as_str() {
        "CA-AB" => &ALBERTA,
        "CA-BC" => &BRITISH_COLUMBIA,
        "CA-QC" => &QUEBEC,
        "CA" => &BORN_ABROAD,
        _ => return generic(jurisdiction_code),
    };
    rows.iter().copied().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_across_jurisdictions() {
        let codes = [
            "CA-AB", "CA-BC", "CA-QC", "CA", "CA-ON", "CA-NU", "CA-XX", "", "AB",
        ];
        let mut ids = HashSet::new();
        for code in codes {
            let persons = test_persons(code);
            assert!(persons.len() >= 3, "{code}");
            for p in persons {
                assert!(ids.insert(p.id.clone()), "duplicate {}", p.id);
                for claim in [
                    "given_name",
                    "family_name",
                    "birthdate",
                    "address",
                    "email",
                    "locale",
                    "place_of_birth",
                ] {
                    assert!(p.claims.contains_key(claim), "{} lacks {claim}", p.id);
                }
            }
        }
    }

    #[test]
    fn known_jurisdictions_have_their_persons() {
        let ab = test_persons("CA-AB");
        assert_eq!(ab[0].id, "ab-amelie-tremblay");
        assert_eq!(ab[0].claims["address"]["region"], "AB");
        assert_eq!(ab[0].claims["email"], "amelie.tremblay@example.ca");
        for p in test_persons("CA") {
            assert_ne!(p.claims["place_of_birth"]["country"], "CA", "{}", p.id);
        }
        let on = test_persons("CA-ON");
        assert_eq!(on[0].id, "on-alex-martin");
        assert_eq!(on[0].claims["address"]["locality"], "Toronto");
    }
}
