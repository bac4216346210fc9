package simulate

// StrictOnly turns the fast decoding path off, to measure what it saves.
func StrictOnly(on bool) { strictOnly = on }

// YAMLOnly turns the canonical parser off: files are parsed by yaml.v3.
func YAMLOnly(on bool) { yamlOnly = on }
