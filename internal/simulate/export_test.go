package simulate

// StrictOnly turns the fast decoding path off, to measure what it saves.
func StrictOnly(on bool) { strictOnly = on }
