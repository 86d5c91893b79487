//! The administration sections of the home page (docs/admin-page.md): what the config and
//! frontend routes manage, shown with forms that call those routes. It reads, it never writes.

use cc_jobs::{tagger_statuses, TaggerStatus};
use cc_users::{assignable_roles, list_users, UserRecord};
use cc_web::applog::{self, LogFilter, Priority};
use cc_web::Platform;
use html_escape::{encode_double_quoted_attribute as attribute, encode_text as text};

use crate::read_notice;

/// Renders the sections; a part whose data cannot be read says so instead of failing the page.
/// The database and the key-value store are opened once for all of them.
pub(super) fn sections(platform: &dyn Platform) -> String {
    let db = platform.sql().map_err(|error| error.to_string());
    let kv = platform.kv().map_err(|error| error.to_string());
    let recent_log = LogFilter {
        since_us: applog::now_us() - LOG_WINDOW_US,
        lines: LOG_LINES,
        max_priority: Priority::Debug,
        search: String::new(),
    };
    [
        users_section(read(&db, |db| list_users(db, false))),
        notice_section(read(&kv, read_notice)),
        tagger_section(read(&kv, |kv| {
            tagger_statuses(kv, cc_web::unix_now() as i64)
        })),
        log_section(read(&db, |db| applog::query(db, &recent_log))),
    ]
    .concat()
}

/// What `reading` finds in an opened store, or why the store or the reading failed.
fn read<Store: ?Sized, T, E: ToString>(
    store: &Result<Box<Store>, String>,
    reading: impl FnOnce(&Store) -> Result<T, E>,
) -> Result<T, String> {
    let store = store.as_ref().map_err(Clone::clone)?;
    reading(store.as_ref()).map_err(|error| error.to_string())
}

/// How many of the newest application log entries the page shows, and from how far back.
const LOG_LINES: u32 = 20;
const LOG_WINDOW_US: i64 = 24 * 3600 * 1_000_000;

fn role_options() -> String {
    assignable_roles()
        .map(|role| format!("<option>{}</option>", role.as_str()))
        .collect()
}

fn user_row(user: &UserRecord, role_options: &str) -> String {
    let name = attribute(&user.username);
    let update_route = format!("/config/user/{}", attribute(&path_segment(&user.username)));
    format!(
        "<tr data-user=\"{name}\"><td>{username}</td><td>{full_name}</td><td>{email}</td>\
         <td>{roles}</td><td>{projects}</td><td>\
         <form class=\"row\" data-api=\"{update_route}\">\
         <select name=\"role\" aria-label=\"role\">{options}</select>\
         <button class=\"inline\" name=\"add-role\" value=\"\" data-pick=\"role\">Add role</button>\
         <button class=\"inline\" name=\"remove-role\" value=\"\" data-pick=\"role\">Remove role</button></form>\
         <form class=\"row\" data-api=\"{update_route}\">\
         <input name=\"project\" placeholder=\"project\" aria-label=\"project\">\
         <button class=\"inline\" name=\"add-project\" value=\"\" data-pick=\"project\">Add project</button>\
         <button class=\"inline\" name=\"remove-project\" value=\"\" data-pick=\"project\">Remove project</button></form>\
         <form data-api=\"/config/users/\" data-method=\"DELETE\">\
         <input type=\"hidden\" name=\"username\" value=\"{name}\">\
         <button class=\"inline delete-user\">Delete</button></form></td></tr>",
        username = text(&user.username),
        full_name = text(user.name.as_deref().unwrap_or("")),
        email = text(user.email.as_deref().unwrap_or("")),
        roles = text(&user.roles.as_deref().unwrap_or_default().join(", ")),
        projects = text(&user.projects.as_deref().unwrap_or_default().join(", ")),
        options = role_options,
    )
}

/// `segment` percent-encoded for a URL path, which the router decodes back: form encoding would
/// turn a space into `+`, which a path keeps as it is.
fn path_segment(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn users_section(users: Result<Vec<UserRecord>, String>) -> String {
    let options = role_options();
    let rows = match users {
        Ok(users) => users
            .iter()
            .map(|user| user_row(user, &options))
            .collect::<String>(),
        Err(error) => format!(
            "<tr><td colspan=\"6\">users cannot be read: {}</td></tr>",
            text(&error)
        ),
    };
    format!(
        "<section id=\"users\"><h2>Users</h2><table><thead><tr><th>Username</th><th>Name</th>\
         <th>Email</th><th>Roles</th><th>Projects</th><th>Actions</th></tr></thead><tbody>{rows}\
         </tbody></table>\
         <h3>Create a user</h3><form id=\"create-user\" data-api=\"/config/users/\">\
         <label>Username <input name=\"username\" required maxlength=\"100\"></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"new-password\"></label>\
         <label>Role <select name=\"role\">{options}</select></label>\
         <label>Name <input name=\"name\"></label><label>Email <input name=\"email\" type=\"email\"></label>\
         <label>Project (managers only) <input name=\"project\"></label>\
         <button type=\"submit\">Create user</button></form></section>"
    )
}

fn notice_section(notice: Result<String, String>) -> String {
    let (current, problem) = match notice {
        Ok(notice) => (notice, String::new()),
        Err(error) => (
            String::new(),
            format!(
                "<p class=\"message\">notice cannot be read: {}</p>",
                text(&error)
            ),
        ),
    };
    format!(
        "<section id=\"notice-editor\"><h2>Notice</h2>{problem}\
         <form data-api=\"/config/notice/\"><label>Shown on the login page \
         <textarea name=\"new-content\" rows=\"4\" maxlength=\"10000\">{current}</textarea></label>\
         <button type=\"submit\">Publish notice</button></form></section>",
        current = text(&current),
    )
}

fn tagger_section(statuses: Result<Vec<TaggerStatus>, String>) -> String {
    let rows = match statuses {
        Ok(statuses) => statuses
            .iter()
            .map(|tagger| {
                format!(
                    "<tr data-tagger=\"{name}\"><td>{name}</td><td>{kind}</td><td>{running}</td><td>\
                     <form data-api=\"/config/taggers/run/\"><input type=\"hidden\" name=\"name\" \
                     value=\"{name}\"><button class=\"inline\">Run over all jobs</button></form></td></tr>",
                    name = attribute(tagger.name),
                    kind = text(tagger.kind),
                    running = if tagger.running { "running" } else { "idle" },
                )
            })
            .collect(),
        Err(error) => format!(
            "<tr><td colspan=\"4\">taggers cannot be read: {}</td></tr>",
            text(&error)
        ),
    };
    format!(
        "<section id=\"taggers\"><h2>Taggers</h2><table><thead><tr><th>Name</th><th>Runs on</th>\
         <th>State</th><th></th></tr></thead><tbody>{rows}</tbody></table></section>"
    )
}

fn log_row(entry: &applog::LogEntry) -> String {
    let seconds = entry.timestamp.parse::<u64>().unwrap_or_default() / 1_000_000;
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    format!(
        "<tr><td>{time}</td><td>{priority}</td><td>{unit}</td><td>{message}</td></tr>",
        time = httpdate::fmt_http_date(time),
        priority = entry.priority,
        unit = text(&entry.unit),
        message = text(&entry.message),
    )
}

fn log_section(entries: Result<Vec<applog::LogEntry>, String>) -> String {
    let rows = match entries {
        Ok(entries) if entries.is_empty() => {
            "<tr><td colspan=\"4\">nothing logged in the last 24 hours</td></tr>".to_owned()
        }
        Ok(entries) => entries.iter().rev().map(log_row).collect(),
        Err(error) => format!(
            "<tr><td colspan=\"4\">the log cannot be read: {}</td></tr>",
            text(&error)
        ),
    };
    format!(
        "<section id=\"log\"><h2>Latest log entries</h2><table><thead><tr><th>Time</th>\
         <th>Priority</th><th>Unit</th><th>Message</th></tr></thead><tbody>{rows}</tbody></table>\
         <p>All of them: <code>GET /frontend/logs/</code></p></section>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_routes_name_the_user_as_the_router_decodes_it() {
        let name = "a b/c+d?é";
        let segment = path_segment(name);
        assert_eq!(segment, "a%20b%2Fc%2Bd%3F%C3%A9");
        let decoded = percent_encoding::percent_decode_str(&segment).decode_utf8_lossy();
        assert_eq!(decoded, name);
    }
}
