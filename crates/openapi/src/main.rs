//! Prints the OpenAPI document (`./dev openapi` writes it to docs/openapi.json).

fn main() {
    print!("{}", cc_openapi::document_json());
}
