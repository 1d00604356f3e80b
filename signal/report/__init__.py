"""Session reports for a study record: HTML or PDF with tables and static figures."""
