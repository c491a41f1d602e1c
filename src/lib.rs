//! Integration-test host package.
