package authz

// LabRole is a lab role as the labs service reports a caller's (labs.v1
// GetMe's labs): the services that ask labs for their callers' roles hand
// its answer to GrantsOf, so this package knows no service's API.
type LabRole interface {
	GetLabId() string
	GetRole() string
}

// GrantsOf turns the lab roles labs reports into grants.
func GrantsOf[R LabRole](roles []R) []Grant {
	grants := make([]Grant, 0, len(roles))
	for _, role := range roles {
		grants = append(grants, Grant{LabID: role.GetLabId(), Role: role.GetRole()})
	}
	return grants
}
