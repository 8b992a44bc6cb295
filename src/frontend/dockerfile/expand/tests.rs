use super::*;

fn ex(text: &str) -> Result<String, ExpandError> {
    let lookup = |k: &str| match k {
        "A" => Some("apple".to_string()),
        "EMPTY" => Some(String::new()),
        "P" => Some("/usr/local/bin/tool.tar.gz".to_string()),
        _ => None,
    };
    word(text, '\\', &lookup)
}

#[test]
fn expansion_table() {
    let cases = [
        ("$A", "apple"),
        ("${A}", "apple"),
        ("x${A}y", "xappley"),
        ("$UNSET", ""),
        ("${UNSET:-def}", "def"),
        ("${EMPTY:-def}", "def"),
        ("${EMPTY-def}", ""),
        ("${UNSET-def}", "def"),
        ("${A:-def}", "apple"),
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${P#*/}", "usr/local/bin/tool.tar.gz"),
        ("${P##*/}", "tool.tar.gz"),
        ("${P%.*}", "/usr/local/bin/tool.tar"),
        ("${P%%.*}", "/usr/local/bin/tool"),
        ("${A/p/P}", "aPple"),
        ("${A//p/P}", "aPPle"),
        ("${UNSET:-$A}", "apple"),
        ("'$A'", "$A"),
        ("\"$A b\"", "apple b"),
        ("\\$A", "$A"),
        ("\"\\$A\"", "$A"),
        ("\"a\\b\"", "a\\b"),
        ("a$", "a$"),
        ("$1x", "x"),
        ("it's", ""),
    ];
    for (input, want) in cases {
        if input == "it's" {
            assert!(ex(input).is_err());
            continue;
        }
        assert_eq!(ex(input).unwrap(), want, "input {input}");
    }
}

#[test]
fn required_variables_fail_with_message() {
    assert_eq!(ex("${UNSET:?need it}").unwrap_err().0, "UNSET: need it");
    assert_eq!(
        ex("${EMPTY:?}").unwrap_err().0,
        "EMPTY: is not allowed to be empty"
    );
    assert_eq!(
        ex("${UNSET?}").unwrap_err().0,
        "UNSET: is not allowed to be unset"
    );
    assert_eq!(ex("${EMPTY?x}").unwrap(), "");
    assert_eq!(ex("${A:?x}").unwrap(), "apple");
}

#[test]
fn lexer_details_as_buildkit() {
    // All digits name a positional parameter; special parameters are never set.
    assert_eq!(ex("$12x").unwrap(), "x");
    assert_eq!(ex("a$$b$@c${#}").unwrap(), "abc");
    // A trailing escape character is dropped.
    assert_eq!(ex("a\\").unwrap(), "a");
    // Patterns know `*` and `?` only: brackets are literal.
    assert_eq!(ex("${A#[a]}").unwrap(), "apple");
    assert_eq!(ex("${A#?}").unwrap(), "pple");
    assert!(ex("${P%\\.*}").is_err());
    assert_eq!(ex("${P%.*}").unwrap(), "/usr/local/bin/tool.tar");
    assert_eq!(ex("${A//p*/X}").unwrap(), "aX");
    assert_eq!(ex("${A/*/X}").unwrap(), "X");
    assert!(ex("${A:#x}").is_err());
    let lookup = |k: &str| (k == "A").then(|| "v".to_string());
    let (out, unmatched) = word_with_unmatched("$A ${B:-x} $C", '\\', &lookup).unwrap();
    assert_eq!(out, "v x ");
    assert_eq!(unmatched.into_iter().collect::<Vec<_>>(), ["B", "C"]);
    let split = fields("$A '1 2' \"x\"y 3\\ 4 ${B:-p q}", '\\', &lookup).unwrap();
    assert_eq!(split, ["v", "1 2", "xy", "3 4", "p", "q"]);
    // Raw: quotes stay, variables and escapes are processed.
    assert_eq!(raw("'$A' \"$A\" \\$A", &lookup).unwrap().0, "'v' \"v\" $A");
}

#[test]
fn unterminated_braces_fail() {
    assert!(ex("${A").is_err());
    assert!(ex("${A:-x").is_err());
    assert!(ex("${}").is_err());
}

#[test]
fn backtick_escape() {
    let lookup = |_: &str| Some("v".to_string());
    assert_eq!(word("`$X$X", '`', &lookup).unwrap(), "$Xv");
    assert_eq!(word("C:\\dir", '`', &lookup).unwrap(), "C:\\dir");
}
