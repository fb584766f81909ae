//! A deadline in 8 bytes ([`Due`]), for the connection state that carries several.

/// A moment on the pipeline's clock, or none, in 8 bytes where `Option<u64>` takes 16
/// (issue 12: state per connection). Tick 0 stands for none: a deadline is a clock
/// reading plus a delay, and one that would fall on tick 0 (the clock's very start
/// with no delay) is kept as tick 1, a tick later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Due(u64);

impl Due {
    /// No moment.
    pub(crate) const NONE: Due = Due(0);

    /// Moment `at`.
    #[inline]
    pub(crate) fn at(at: u64) -> Due {
        Due(at.max(1))
    }

    /// The moment, if any.
    #[inline]
    pub(crate) fn get(self) -> Option<u64> {
        (self.0 != 0).then_some(self.0)
    }

    /// Whether there is a moment.
    #[inline]
    pub(crate) fn is_some(self) -> bool {
        self.0 != 0
    }

    /// As [`Option::is_some_and`].
    #[inline]
    pub(crate) fn is_some_and(self, f: impl FnOnce(u64) -> bool) -> bool {
        self.get().is_some_and(f)
    }

    /// As [`Option::map_or`].
    #[inline]
    pub(crate) fn map_or<T>(self, default: T, f: impl FnOnce(u64) -> T) -> T {
        self.get().map_or(default, f)
    }
}

impl From<Option<u64>> for Due {
    fn from(o: Option<u64>) -> Due {
        o.map_or(Due::NONE, Due::at)
    }
}
