//! Lookalike integration names: two names that a reader could mistake for
//! one another (`s1ack` and `slack`, `rnail` and `mail`) have the same
//! [`skeleton`]. The registry refuses a new name whose skeleton is that of
//! a name another publisher owns, so users cannot be tricked into
//! installing an impostor.

/// The confusable skeleton of `name`: lower-cased; `-`, `_`, `.` and
/// whitespace dropped; characters commonly mistaken for a letter mapped to
/// it (`0`→`o`, `1`/`i`/`|`/`!`→`l`, `3`→`e`, `4`/`@`→`a`, `5`/`$`→`s`,
/// `7`→`t`, `8`→`b`, `9`→`g`, and Cyrillic and Greek letters drawn like
/// Latin ones); then `rn`→`m` and `vv`→`w`. Applying it twice gives the
/// same result as once.
pub fn skeleton(name: &str) -> String {
    let mapped: String = name
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|c| !matches!(c, '-' | '_' | '.') && !c.is_whitespace())
        .map(confusable)
        .collect();
    let mut out = String::with_capacity(mapped.len());
    let mut chars = mapped.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('r', Some('n')) => {
                chars.next();
                out.push('m');
            }
            ('v', Some('v')) => {
                chars.next();
                out.push('w');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Whether `a` and `b` could be mistaken for one another: their
/// skeletons are equal.
pub fn looks_alike(a: &str, b: &str) -> bool {
    skeleton(a) == skeleton(b)
}

/// The letter `c` is commonly mistaken for, or `c` itself. Every result
/// maps to itself, so the skeleton is idempotent.
fn confusable(c: char) -> char {
    match c {
        '0' | 'о' | 'ο' => 'o',
        '1' | 'i' | '|' | '!' | 'і' | 'ı' | 'ι' => 'l',
        '3' | 'е' | 'ε' => 'e',
        '4' | '@' | 'а' | 'α' => 'a',
        '5' | '$' | 'ѕ' => 's',
        '7' | 'τ' => 't',
        '8' | 'в' | 'β' => 'b',
        '9' => 'g',
        'р' | 'ρ' => 'p',
        'с' | 'ϲ' => 'c',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'н' | 'η' => 'n',
        'т' => 't',
        'ν' => 'v',
        'ω' => 'w',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_lookalikes_share_a_skeleton() {
        for (a, b) in [
            ("s1ack", "slack"),
            ("SLACK", "slack"),
            ("sl-ack", "slack"),
            ("s_l.a-c_k", "slack"),
            ("g00gle-sheets", "google-sheets"),
            ("rnailchimp", "mailchimp"),
            ("vvorkday", "workday"),
            ("str1pe", "stripe"),
            ("5tripe", "stripe"),
            ("n0ti0n", "notion"),
            ("notіon", "notion"),
            ("zendesk", "z3nd3sk"),
            ("r-n", "m"),
        ] {
            assert!(
                looks_alike(a, b),
                "{a} / {b}: {} {}",
                skeleton(a),
                skeleton(b)
            );
        }
    }

    #[test]
    fn different_names_keep_different_skeletons() {
        for (a, b) in [
            ("slack", "stack"),
            ("gmail", "gmaps"),
            ("notion", "motion"),
            ("stripe", "strip"),
            ("evolving", "well-behaved"),
        ] {
            assert!(!looks_alike(a, b), "{a} / {b}: {}", skeleton(a));
        }
    }

    #[test]
    fn the_skeleton_is_what_the_rules_say() {
        assert_eq!(skeleton("S1ack"), "slack");
        assert_eq!(skeleton("rrnn"), "rmn");
        assert_eq!(skeleton("vvv"), "wv");
        assert_eq!(skeleton(""), "");
    }

    proptest! {
        #[test]
        fn the_skeleton_is_idempotent(name in "[a-zA-Z0-9._ |!@$rnv-]{0,40}") {
            let once = skeleton(&name);
            prop_assert_eq!(skeleton(&once), once);
        }

        #[test]
        fn the_skeleton_of_any_text_is_idempotent(name in "\\PC{0,30}") {
            let once = skeleton(&name);
            prop_assert_eq!(skeleton(&once), once);
        }

        #[test]
        fn a_name_always_looks_like_itself(name in "[a-z0-9]+(-[a-z0-9]+)*") {
            prop_assert!(looks_alike(&name, &name));
            prop_assert!(looks_alike(&name.to_uppercase(), &name));
        }
    }
}
