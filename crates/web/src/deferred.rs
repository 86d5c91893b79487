//! Work a handler leaves for after its response: wasi:http lets a component keep running once
//! the response is sent, so e.g. archiving a stopped job does not delay the stop's answer.
//! A component instance serves one request on one thread, so a thread-local queue suffices.

use std::cell::RefCell;

use crate::Platform;

type Task = Box<dyn FnOnce(&dyn Platform)>;

thread_local! {
    static AFTER_RESPONSE: RefCell<Vec<Task>> = const { RefCell::new(Vec::new()) };
}

/// Queues `task` to run after the current response has been sent.
pub fn after_response(task: impl FnOnce(&dyn Platform) + 'static) {
    AFTER_RESPONSE.with(|queue| queue.borrow_mut().push(Box::new(task)));
}

/// Runs the queued tasks in order (also those queued while running). The Spin entry point calls
/// this after sending the response; native callers call it after taking the response.
pub fn run_after_response(platform: &dyn Platform) {
    while let Some(task) = AFTER_RESPONSE.with(|queue| {
        let mut queue = queue.borrow_mut();
        (!queue.is_empty()).then(|| queue.remove(0))
    }) {
        task(platform);
    }
}

#[cfg(all(test, feature = "native"))]
mod tests {
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use super::*;
    use crate::NativePlatform;

    #[test]
    fn tasks_run_in_order_only_when_asked_including_nested_ones() {
        let platform = NativePlatform {
            variables: HashMap::new(),
            state_dir: std::env::temp_dir(),
            clusters_dir: std::env::temp_dir(),
            taggers_dir: std::env::temp_dir(),
        };
        let log = Rc::new(Cell::new(String::new()));
        let first = log.clone();
        after_response(move |_| {
            first.set(first.take() + "a");
            let nested = first.clone();
            after_response(move |_| nested.set(nested.take() + "c"));
        });
        let second = log.clone();
        after_response(move |_| second.set(second.take() + "b"));
        assert_eq!(log.take(), "");
        run_after_response(&platform);
        assert_eq!(log.take(), "abc");
        run_after_response(&platform);
        assert_eq!(log.take(), "");
    }
}
