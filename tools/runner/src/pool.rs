//! A small pool of idle database connections. Opening a SQLite connection (and re-preparing its
//! statements) is the largest cost of a short request, so a connection released by one guest
//! resource is handed to the next one. A connection serves one resource at a time.

use std::sync::{Arc, Mutex};

pub struct Pool<T> {
    idle: Mutex<Vec<T>>,
    max_idle: usize,
    /// Decides on release whether a connection is clean enough to hand out again.
    reusable: fn(&T) -> bool,
}

impl<T> Pool<T> {
    pub fn new(max_idle: usize, reusable: fn(&T) -> bool) -> Arc<Self> {
        Arc::new(Self {
            idle: Mutex::new(Vec::new()),
            max_idle,
            reusable,
        })
    }

    /// An idle connection, or a new one from `open`.
    pub fn take<E>(self: &Arc<Self>, open: impl FnOnce() -> Result<T, E>) -> Result<Pooled<T>, E> {
        let idle = self.lock().pop();
        let item = match idle {
            Some(item) => item,
            None => open()?,
        };
        Ok(Pooled {
            item: Some(item),
            pool: Arc::clone(self),
        })
    }

    /// Adds a connection, e.g. the one opened at start-up to check the state directory.
    pub fn put(&self, item: T) {
        let mut idle = self.lock();
        if idle.len() < self.max_idle {
            idle.push(item);
        }
    }

    pub fn idle_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<T>> {
        // A panic while holding the lock cannot leave the Vec inconsistent.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection on loan; returns to the pool when dropped, if still reusable.
pub struct Pooled<T> {
    item: Option<T>,
    pool: Arc<Pool<T>>,
}

impl<T> std::ops::Deref for Pooled<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.item
            .as_ref()
            .expect("pooled item is present until drop")
    }
}

impl<T> Drop for Pooled<T> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            if (self.pool.reusable)(&item) {
                self.pool.put(item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_items_are_reused() {
        let pool = Pool::new(4, |_| true);
        let mut opened = 0;
        let first = pool
            .take(|| {
                opened += 1;
                Ok::<_, ()>(opened)
            })
            .unwrap();
        assert_eq!(*first, 1);
        drop(first);
        assert_eq!(pool.idle_count(), 1);
        let again = pool.take(|| Err::<i32, _>("must not open")).unwrap();
        assert_eq!(*again, 1);
        assert_eq!(pool.idle_count(), 0);
    }

    #[test]
    fn concurrent_loans_get_distinct_items_and_idle_is_capped() {
        let pool = Pool::new(1, |_| true);
        let mut next = 0;
        let mut open = || {
            next += 1;
            Ok::<_, ()>(next)
        };
        let a = pool.take(&mut open).unwrap();
        let b = pool.take(&mut open).unwrap();
        assert_ne!(*a, *b);
        drop(a);
        drop(b);
        assert_eq!(pool.idle_count(), 1);
    }

    #[test]
    fn items_that_are_not_reusable_are_dropped_on_release() {
        let pool = Pool::new(4, |item: &i32| *item % 2 == 0);
        drop(pool.take(|| Ok::<_, ()>(7)).unwrap());
        assert_eq!(pool.idle_count(), 0);
        drop(pool.take(|| Ok::<_, ()>(8)).unwrap());
        assert_eq!(pool.idle_count(), 1);
    }
}
