//! The integration tests of `verdict-store`: the group committer on a real RocksDB.

mod store_group_commit;
