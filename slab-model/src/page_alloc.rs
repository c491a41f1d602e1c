//! The buddy page allocator of the simulated machine (placeholder: see the page-allocator
//! work item).

use thiserror::Error;

/// Page allocator misuse.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PageError {
    /// Freeing a page that is not allocated.
    #[error("free_pages: pfn {pfn:#x} is not an allocated block")]
    NotAllocated { pfn: u64 },
}
