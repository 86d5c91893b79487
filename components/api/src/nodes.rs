use cc_users::update_node_states;
use cc_web::Route;
use http::Method;

pub static ROUTES: &[Route] = &[
    Route::new(Method::POST, "/api/nodestate/", update_node_states),
    Route::new(Method::PUT, "/api/nodestate/", update_node_states),
];
