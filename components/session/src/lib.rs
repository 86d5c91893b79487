//! Session routes on the root router (`/login`, `/jwt-login`, `/logout`) and the home page `/`.
//! They are not an API group: no authentication middleware, and paths they do not serve get
//! cc-backend's HTML 404 page.

pub use cc_login::http::handle_root as handle;

cc_web::spin_entry_point!(handle);
