"""The user guide (docs/guide/), served in the app behind the top bar's Help link."""
