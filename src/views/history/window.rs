//! Windowing arithmetic of the History list: which rows exist in the DOM for a scroll position.
//!
//! Every row has the same height ([`ROW_HEIGHT`], gap included; the CSS of `.hrow` matches it), so the row at
//! index `i` sits at `i * ROW_HEIGHT` and the rows under a viewport follow from `scrollTop` alone: no row has to
//! be measured, so scrolling never forces a layout. Kept free of the DOM so it is tested on its own.

/// Height of one row plus the gap under it, in CSS pixels. `style/main.css` (`.hrow`) draws rows this tall.
pub const ROW_HEIGHT: f64 = 112.0;
/// Rows rendered beyond each edge of the viewport, so a fast flick shows rows, not blank space, while the next
/// animation frame catches up.
pub const OVERSCAN: usize = 8;
/// Fetch the next page when the window comes this close (in rows) to the last row held.
pub const PREFETCH_ROWS: usize = 60;

/// The rows `[start, end)` to render. `end` may exceed the number of rows held; [`Window::clamp`] bounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// First row rendered.
    pub start: usize,
    /// One past the last row rendered.
    pub end: usize,
}

impl Window {
    /// The rows under a viewport `viewport` pixels high scrolled to `scroll_top`, with `overscan` more rows on each
    /// side. A negative or non-finite `scroll_top` (elastic overscroll in WebKit, a detached element) counts as 0.
    pub fn for_scroll(scroll_top: f64, viewport: f64, row_height: f64, overscan: usize) -> Window {
        let top = if scroll_top.is_finite() {
            scroll_top.max(0.0)
        } else {
            0.0
        };
        let height = if viewport.is_finite() {
            viewport.max(0.0)
        } else {
            0.0
        };
        if !(row_height.is_finite() && row_height > 0.0) {
            return Window::default();
        }
        // f64 → usize saturates, so a huge scrollTop cannot overflow.
        let first = (top / row_height).floor() as usize;
        let last = ((top + height) / row_height).ceil() as usize;
        Window {
            start: first.saturating_sub(overscan),
            end: last.max(first.saturating_add(1)).saturating_add(overscan),
        }
    }

    /// The window limited to `rows` rows (never `start > end`).
    pub fn clamp(self, rows: usize) -> Window {
        let end = self.end.min(rows);
        Window {
            start: self.start.min(end),
            end,
        }
    }

    /// True when the next page should be fetched: the window reaches within `prefetch` rows of the last one held.
    pub fn wants_more(self, rows: usize, prefetch: usize) -> bool {
        self.end.saturating_add(prefetch) >= rows
    }
}

/// Top of row `index`, in pixels from the top of the list.
pub fn row_top(index: usize, row_height: f64) -> f64 {
    index as f64 * row_height
}

/// Height of the scrollable list holding `rows` rows.
pub fn list_height(rows: usize, row_height: f64) -> f64 {
    rows as f64 * row_height
}

/// The `scrollTop` that brings row `index` fully into a viewport `viewport` pixels high, scrolling as little as
/// possible; `None` when it is already fully visible.
pub fn reveal(index: usize, scroll_top: f64, viewport: f64, row_height: f64) -> Option<f64> {
    let top = row_top(index, row_height);
    let bottom = top + row_height;
    if top < scroll_top {
        Some(top)
    } else if bottom > scroll_top + viewport {
        Some((bottom - viewport).max(0.0))
    } else {
        None
    }
}
