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

/// What each scope the platform knows lets an integration do, in the
/// provider's own words (Google's OAuth 2.0 scopes list, Slack's scope
/// reference, Stripe Connect's OAuth reference): `(provider, scope,
/// description)`. The marketplace shows them on a listing.
const SCOPE_DESCRIPTIONS: &[(&str, &str, &str)] = &[
    (
        "google",
        "openid",
        "Associate you with your personal info on Google",
    ),
    (
        "google",
        "email",
        "See your primary Google Account email address",
    ),
    (
        "google",
        "profile",
        "See your personal info, including any personal info you've made publicly available",
    ),
    (
        "google",
        "https://mail.google.com/",
        "Read, compose, send, and permanently delete all your email from Gmail",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/gmail.modify",
        "Read, compose, and send emails from your Gmail account",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/gmail.readonly",
        "View your email messages and settings",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/gmail.send",
        "Send email on your behalf",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/gmail.compose",
        "Manage drafts and send emails",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/gmail.labels",
        "See and edit your email labels",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/calendar",
        "See, edit, share, and permanently delete all the calendars you can access using Google Calendar",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/calendar.readonly",
        "See and download any calendar you can access using your Google Calendar",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/calendar.events",
        "View and edit events on all your calendars",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/drive",
        "See, edit, create, and delete all of your Google Drive files",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/drive.readonly",
        "See and download all your Google Drive files",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/drive.file",
        "See, edit, create, and delete only the specific Google Drive files you use with this app",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/spreadsheets",
        "See, edit, create, and delete all your Google Sheets spreadsheets",
    ),
    (
        "google",
        "https://www.googleapis.com/auth/spreadsheets.readonly",
        "See all your Google Sheets spreadsheets",
    ),
    ("slack", "chat:write", "Send messages as the app"),
    (
        "slack",
        "chat:write.public",
        "Send messages to channels the app isn't a member of",
    ),
    (
        "slack",
        "channels:read",
        "View basic information about public channels in a workspace",
    ),
    (
        "slack",
        "channels:history",
        "View messages and other content in public channels that the app has been added to",
    ),
    (
        "slack",
        "groups:read",
        "View basic information about private channels that the app has been added to",
    ),
    (
        "slack",
        "groups:history",
        "View messages and other content in private channels that the app has been added to",
    ),
    (
        "slack",
        "im:read",
        "View basic information about direct messages that the app has been added to",
    ),
    (
        "slack",
        "im:history",
        "View messages and other content in direct messages that the app has been added to",
    ),
    ("slack", "users:read", "View people in a workspace"),
    (
        "slack",
        "users:read.email",
        "View email addresses of people in a workspace",
    ),
    (
        "slack",
        "reactions:read",
        "View emoji reactions and their associated content in channels and conversations that the app has been added to",
    ),
    ("slack", "reactions:write", "Add and edit emoji reactions"),
    (
        "slack",
        "files:read",
        "View files shared in channels and conversations that the app has been added to",
    ),
    (
        "slack",
        "files:write",
        "Upload, edit, and delete files as the app",
    ),
    (
        "slack",
        "incoming-webhook",
        "Post messages to specific channels in Slack",
    ),
    (
        "slack",
        "commands",
        "Add shortcuts and/or slash commands that people can use",
    ),
    (
        "stripe",
        "read_write",
        "Read and write access to the connected Stripe account's data, as its own API keys allow",
    ),
    (
        "stripe",
        "read_only",
        "Read-only access to the connected Stripe account's data",
    ),
];

/// The provider's own description of what `scope` lets an integration do,
/// when the platform knows it.
pub fn scope_description(provider: &str, scope: &str) -> Option<&'static str> {
    SCOPE_DESCRIPTIONS
        .iter()
        .find(|&&(p, s, _)| p == provider && s == scope)
        .map(|&(_, _, description)| description)
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
    fn every_described_scope_belongs_to_its_provider() {
        for &(provider, scope, description) in super::SCOPE_DESCRIPTIONS {
            assert_eq!(scope_problem(provider, scope), None, "{provider} {scope}");
            assert!(!description.is_empty(), "{provider} {scope}");
            assert_eq!(super::scope_description(provider, scope), Some(description));
        }
        assert_eq!(super::scope_description("slack", "no:such"), None);
        assert_eq!(super::scope_description("google", "chat:write"), None);
    }

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
