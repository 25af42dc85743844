//! Who sees exact figures in statistics and coverage, and which cells are
//! suppressed.
