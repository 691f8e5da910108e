"""Pure analytics (numpy/scipy only, no Django): displacement detection and its synthetic test bed."""
