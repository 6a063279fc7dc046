"""The county dashboard (信访工作态势): a static single page that reads the stats API."""
