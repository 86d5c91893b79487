use cc_users::{get_users, update_user_roles_or_projects};
use cc_web::Route;
use http::Method;

pub static ROUTES: &[Route] = &[
    Route::new(Method::GET, "/api/users/", get_users),
    Route::new(
        Method::POST,
        "/api/user/{id}",
        update_user_roles_or_projects,
    ),
];
