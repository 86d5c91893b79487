use cc_users::{get_machine_state, put_machine_state};
use cc_web::Route;
use http::Method;

/// Registered only when `cc_users::machine_state_enabled`, like cc-backend's routes that exist only
/// with `main.machine-state-dir` set.
pub static ROUTES: &[Route] = &[
    Route::new(
        Method::GET,
        "/api/machine_state/{cluster}/{host}",
        get_machine_state,
    ),
    Route::new(
        Method::PUT,
        "/api/machine_state/{cluster}/{host}",
        put_machine_state,
    ),
    Route::new(
        Method::POST,
        "/api/machine_state/{cluster}/{host}",
        put_machine_state,
    ),
];
