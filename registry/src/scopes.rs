//! Which OAuth scopes belong to which provider: a manifest may only ask a
//! provider for scopes written the way that provider spells them, so a
//! reviewer never approves a Slack scope filed under Google, or a typo that
//! would fail only when a user connects.

/// Google's short identity scopes, usable beside the API scope URLs.
const GOOGLE_IDENTITY_SCOPES: &[&str] = &["openid", "email", "profile"];
/// Where Google's API scope URLs live.
const GOOGLE_SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";
/// Google's full-mailbox scope, the one API scope outside that prefix.
const GOOGLE_MAIL_SCOPE: &str = "https://mail.google.com/";
/// Slack scopes that predate the `resource:permission` form.
const SLACK_SINGLE_WORD_SCOPES: &[&str] = &["incoming-webhook", "commands", "bot", "identify"];
/// Stripe Connect's two scopes.
const STRIPE_SCOPES: &[&str] = &["read_write", "read_only"];

/// Why `scope` does not belong to `provider`, or `None` when it does.
/// Providers without a rule here (unknown ones are refused elsewhere) pass.
pub fn scope_problem(provider: &str, scope: &str) -> Option<String> {
    let belongs = match provider {
        "google" => is_google_scope(scope),
        "slack" => is_slack_scope(scope),
        "stripe" => STRIPE_SCOPES.contains(&scope),
        _ => true,
    };
    (!belongs).then(|| {
        let expected = match provider {
            "google" => format!(
                "Google scopes are `{GOOGLE_SCOPE_PREFIX}<api>[.<access>]` (like `{GOOGLE_SCOPE_PREFIX}gmail.modify`), `{GOOGLE_MAIL_SCOPE}`, or one of {}",
                GOOGLE_IDENTITY_SCOPES.join(", ")
            ),
            "slack" => "Slack scopes are `resource:permission` (like `chat:write` or `users:read.email`)".to_string(),
            _ => format!("Stripe's scopes are {}", STRIPE_SCOPES.join(" or ")),
        };
        format!("OAuth provider `{provider}` has no scope `{scope}`: {expected}")
    })
}

fn is_google_scope(scope: &str) -> bool {
    if GOOGLE_IDENTITY_SCOPES.contains(&scope) || scope == GOOGLE_MAIL_SCOPE {
        return true;
    }
    scope.strip_prefix(GOOGLE_SCOPE_PREFIX).is_some_and(|api| {
        !api.is_empty()
            && api
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    })
}

fn is_slack_scope(scope: &str) -> bool {
    if SLACK_SINGLE_WORD_SCOPES.contains(&scope) {
        return true;
    }
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c))
    };
    scope
        .split_once(':')
        .is_some_and(|(resource, permission)| word(resource) && word(permission))
}

#[cfg(test)]
mod tests {
    use super::scope_problem;

    #[test]
    fn each_provider_accepts_its_own_spelling() {
        for (provider, scope) in [
            ("google", "https://www.googleapis.com/auth/gmail.modify"),
            ("google", "https://www.googleapis.com/auth/drive.readonly"),
            ("google", "https://mail.google.com/"),
            ("google", "openid"),
            ("slack", "chat:write"),
            ("slack", "chat:write.public"),
            ("slack", "users:read.email"),
            ("slack", "incoming-webhook"),
            ("stripe", "read_write"),
        ] {
            assert_eq!(scope_problem(provider, scope), None, "{provider} {scope}");
        }
    }

    #[test]
    fn a_scope_of_another_provider_or_a_typo_is_refused_with_the_expected_form() {
        for (provider, scope) in [
            ("google", "chat:write"),
            ("google", "gmail.modify"),
            ("google", "https://evil.example/auth/gmail"),
            ("slack", "https://www.googleapis.com/auth/gmail.modify"),
            ("slack", "chat:"),
            ("stripe", "write"),
        ] {
            let problem = scope_problem(provider, scope).expect("refused");
            assert!(problem.contains(scope), "{problem}");
            assert!(
                problem.contains("like") || problem.contains(" or "),
                "{problem}"
            );
        }
    }
}
