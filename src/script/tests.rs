use super::walk::{Answer, Decision, Next, Walk};
use super::*;

const GOOD: &str = r#"
format = "ceremony.script.v1"
name = "demo"
version = 1
title = "A demonstration"

[roles]
operator = 1
witnesses = 1
custodians = 0

[params.root]
about = "the root directory"

[params.bundles]
about = "bundles"
list = true

[params.items]
about = "items"
list = true
default = []

[[step]]
id = "show"
title = "Show {root}"
run = ["root", "show", "{root}", "--bundle={bundles...}", "{{x}}"]

[[step]]
id = "each"
title = "Item {item}"
for_each = { item = "items" }
run = ["root", "verify", "{item}"]
expect = 4

[[step]]
id = "look"
title = "Look"
confirm = "Check {root} in {transcript}"

[end]
sign_offs = 1
"#;

fn script(text: &str) -> Result<Script, ScriptError> {
    Script::parse(Path::new("s.toml"), text.as_bytes())
}

fn sets(pairs: &[&str]) -> Vec<String> {
    pairs.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_script_plans_every_argument_before_anything_runs() {
    let s = script(GOOD).unwrap();
    let values = Values::new(
        &s,
        &sets(&["root=r", "bundles=a", "bundles=b", "items=x", "items=y"]),
    )
    .unwrap();
    let plan = s.plan(&values, "t.jsonl");
    let ids: Vec<&str> = plan.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["show", "each#1", "each#2", "look"]);
    assert_eq!(
        plan[0].action,
        Planned::Run {
            argv: sets(&["root", "show", "r", "--bundle=a", "--bundle=b", "{x}"]),
            expect: 0,
            stdout: None
        }
    );
    assert_eq!(plan[0].title, "Show r");
    assert_eq!(plan[2].title, "Item y");
    assert_eq!(
        plan[3].action,
        Planned::Confirm {
            text: "Check r in t.jsonl".into(),
            by: Role::Witness
        }
    );
    // A list default of none: no rounds at all.
    let values = Values::new(&s, &sets(&["root=r", "bundles=a"])).unwrap();
    assert_eq!(s.plan(&values, "t").len(), 2);
}

#[test]
fn bad_scripts_name_the_line_and_what_to_do() {
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "format = \"ceremony.script.v1\"",
            "format = \"ceremony.script.v9\"",
            2,
            "is not \"ceremony.script.v1\"",
        ),
        (
            "run = [\"root\", \"show\"",
            "run = [\"root\", \"show\", \"{nothing}\"",
            27,
            "{nothing} is not a parameter",
        ),
        (
            "\"{root}\", \"--bundle",
            "\"{bundles}\", \"--bundle",
            27,
            "is a list",
        ),
        (
            "expect = 4",
            "expect = 400",
            34,
            "an exit code from 0 to 255",
        ),
        ("id = \"each\"", "id = \"show\"", 30, "used twice"),
        (
            "confirm = \"Check",
            "run = [\"x\"]\nconfirm = \"Check",
            36,
            "not both",
        ),
        (
            "sign_offs = 1",
            "sign_offs = 2",
            42,
            "raise roles.witnesses",
        ),
        (
            "witnesses = 1",
            "witnesses = 1\nextra = 2",
            10,
            "unknown field",
        ),
        (
            "run = [\"root\", \"verify\"",
            "run = [\"run\", \"verify\"",
            33,
            "cannot run another script",
        ),
        (
            "run = [\"root\", \"verify\"",
            "run = [\"root\", \"--transcript\"",
            33,
            "leave --transcript out",
        ),
    ];
    for (from, to, line, needle) in cases {
        assert!(GOOD.contains(from), "{from}");
        let text = GOOD.replacen(from, to, 1);
        let err = script(&text).unwrap_err();
        assert!(err.problem.contains(needle), "{to}: {err}");
        assert_eq!(err.line, *line, "{to}: {err}");
        assert!(
            err.to_string().starts_with(&format!("s.toml:{line}: ")),
            "{err}"
        );
    }
    let key = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
    let err = script(&GOOD.replacen("Look", key, 1)).unwrap_err();
    assert!(
        err.problem.contains("private key") && !err.to_string().contains("QQQQ"),
        "{err}"
    );
}

#[test]
fn values_and_roster_are_checked_against_the_script() {
    let s = script(GOOD).unwrap();
    let err = Values::new(&s, &sets(&["bundles=a"])).unwrap_err();
    assert!(err.to_string().contains("needs --set root="), "{err}");
    let err = Values::new(&s, &sets(&["root=a", "root=b", "bundles=a"])).unwrap_err();
    assert!(err.to_string().contains("given twice"), "{err}");
    let err = Values::new(&s, &sets(&["root=a", "nope=b"])).unwrap_err();
    assert!(err.to_string().contains("no parameter \"nope\""), "{err}");
    assert!(Roster::new(&s, "alice", &[], &[]).is_err());
    let err = Roster::new(&s, "alice", &sets(&["alice"]), &[]).unwrap_err();
    assert!(err.to_string().contains("named twice"), "{err}");
    assert!(Roster::new(&s, "alice", &sets(&["bob"]), &[]).is_ok());
}

#[test]
fn the_walk_goes_on_only_as_expected_or_by_an_accepted_exception() {
    let s = script(GOOD).unwrap();
    let values = Values::new(&s, &sets(&["root=r", "bundles=a", "items=x"])).unwrap();
    let roster = Roster::new(&s, "alice", &sets(&["bob"]), &[]).unwrap();
    let (mut walk, start) = Walk::start(&s, roster, &values, "t");
    assert!(matches!(
        start,
        crate::transcript::Entry::CeremonyStart { .. }
    ));
    // Step 1 fails: it must be decided, not skipped.
    let (_, next) = walk.ran(5, Some(1), "not enough shares", None).unwrap();
    assert_eq!(next, Next::Decide);
    assert!(walk.ran(0, Some(2), "ok", None).is_err());
    // The operator cannot decide; a witness can. A changed run goes again.
    let change = |witness: &str| Decision::Exception {
        reason: "wrong path".into(),
        run: Some(sets(&["root", "show", "r2"])),
        witness: witness.into(),
        accepted: true,
    };
    assert!(walk.decide(change("alice")).is_err());
    let (entry, next) = walk.decide(change("bob")).unwrap();
    assert!(entry.is_some() && next == Next::Go);
    assert_eq!(
        walk.current_argv().unwrap(),
        sets(&["root", "show", "r2"]).as_slice()
    );
    walk.ran(0, Some(4), "ok", None).unwrap();
    // each#1 expects exit 4.
    assert_eq!(walk.current().unwrap().1.id, "each#1");
    let (_, next) = walk.ran(0, Some(6), "ok", None).unwrap();
    assert_eq!(next, Next::Decide);
    let (_, next) = walk
        .decide(Decision::Exception {
            reason: "it verified".into(),
            run: None,
            witness: "bob".into(),
            accepted: false,
        })
        .unwrap();
    assert_eq!(next, Next::Stop);
    assert!(walk.current().is_none());
    assert!(matches!(walk.stopped(), Some(Error::Stopped { .. })));
    assert!(matches!(
        walk.end(),
        crate::transcript::Entry::CeremonyEnd {
            completed: false,
            exceptions: 2,
            ..
        }
    ));
}

#[test]
fn answers_name_their_step_and_say_one_thing() {
    assert_eq!(Answer::parse("  # a comment").unwrap(), None);
    assert_eq!(
        Answer::parse(r#"{ step = "look", confirmed_by = "bob" }"#).unwrap(),
        Some(Answer::Confirm {
            step: "look".into(),
            by: "bob".into(),
            confirmed: true
        })
    );
    let a = Answer::parse(
        r#"{ step = "x", exception = "why", run = ["root", "show"], accepted_by = "bob" }"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(a.step(), "x");
    for bad in [
        r#"{ step = "x" }"#,
        r#"{ step = "x", confirmed_by = "bob", accepted_by = "bob" }"#,
        r#"{ step = "x", exception = "why" }"#,
        r#"{ step = "x", confirmed_by = "bob", color = "red" }"#,
        "confirm x",
    ] {
        assert!(Answer::parse(bad).is_err(), "{bad}");
    }
}

/// A value stands as a whole argument of the step's command: one that
/// begins with `-` would be read as an option (`--allow-online` skipping
/// the air gap the operator did not skip, `--transcript=…` recording the
/// step elsewhere). The run's own flags belong to the operator alone: no
/// script, value or changed step may give them.
#[test]
fn no_value_script_or_changed_step_can_give_an_option_of_its_own() {
    let s = script(GOOD).unwrap();
    for smuggled in [
        "root=--allow-online",
        "root=--transcript=/tmp/elsewhere.jsonl",
        "root=-i",
    ] {
        let err = Values::new(&s, &sets(&[smuggled, "bundles=a"])).unwrap_err();
        assert!(
            matches!(err, Error::Value(_)) && err.to_string().contains("read as an option"),
            "{smuggled}: {err}"
        );
    }
    // In a list too, which becomes whole arguments (`{bundles...}`) or not.
    let err = Values::new(&s, &sets(&["root=r", "bundles=--allow-online"])).unwrap_err();
    assert!(err.to_string().contains("read as an option"), "{err}");
    let text = GOOD.replacen(
        "list = true\ndefault = []",
        "list = true\ndefault = [\"--allow-online\"]",
        1,
    );
    assert_ne!(text, GOOD);
    let err = script(&text).unwrap_err();
    assert!(err.problem.contains("read as an option"), "{err}");
    // A path that begins with a dash is still given, as ./-x.
    assert!(Values::new(&s, &sets(&["root=./-r", "bundles=a"])).is_ok());

    for flag in ["--allow-online", "--system-root=/tmp/fake", "--system-root"] {
        let text = GOOD.replacen(r#""{{x}}"]"#, &format!(r#""{{{{x}}}}", "{flag}"]"#), 1);
        assert_ne!(text, GOOD);
        let err = script(&text).unwrap_err();
        assert!(
            err.problem.contains("the operator's") && err.line == 27,
            "{flag}: {err}"
        );
    }

    let values = Values::new(&s, &sets(&["root=r", "bundles=a"])).unwrap();
    let roster = Roster::new(&s, "alice", &sets(&["bob"]), &[]).unwrap();
    let (mut walk, _) = Walk::start(&s, roster, &values, "t");
    walk.ran(5, Some(1), "failed", None).unwrap();
    let err = walk
        .decide(Decision::Exception {
            reason: "the check fails on this machine".into(),
            run: Some(sets(&["root", "show", "r", "--allow-online"])),
            witness: "bob".into(),
            accepted: true,
        })
        .unwrap_err();
    assert!(err.to_string().contains("the operator's"), "{err}");
}
