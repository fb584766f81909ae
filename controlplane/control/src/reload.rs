//! `reload` (the shell command) and SIGHUP: the configuration file read again and
//! applied live, the service manager told, the outcome logged once.

use crate::live::Live;
use crate::requests::{notify, notify_reloading};
use sd_notify::NotifyState;
use splicer_commands::Response;

/// Reloads the configuration file into `live`, asked for by `by` (`SIGHUP`, `reload
/// command`); the answer for the control socket.
pub(crate) fn reload(live: &mut Live, by: &str) -> Response {
    notify_reloading();
    let response = match live.reload() {
        Ok(r) => {
            let mut text = format!("reloaded {}: {}", r.path.display(), r.changes);
            if let Some(note) = r.applied.as_deref().filter(|a| *a != "ok") {
                text.push_str(&format!(" ({note})"));
            }
            if !r.restart.is_empty() {
                text.push_str(&format!(
                    "\nneeds a restart; not applied: {}",
                    r.restart.join(", ")
                ));
            }
            // Logged at warn, as the shell's changes are, so that it shows at every level.
            tracing::warn!("control: reload ({by}): {text}");
            let data = serde_json::json!({
                "file": r.path.display().to_string(),
                "changes": r.changes,
                "restart": r.restart,
                "applied": r.applied.is_some(),
            });
            Response::with_data(text, data)
        }
        Err(e) => {
            tracing::error!("control: reload ({by}) refused: {e}");
            Response::error(e)
        }
    };
    notify(&[NotifyState::Ready, NotifyState::Status("running")]);
    response
}
