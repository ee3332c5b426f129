package dynamo

// WithoutAudit returns a copy of s whose writes skip the audit entry, so a
// benchmark can price the audit alone.
func (s *Store) WithoutAudit() *Store {
	c := *s
	c.unaudited = true
	return &c
}
