// Package authz is the authorization model every service enforces with
// Casbin: RBAC with domains, where a domain is a lab. The model and the
// role→permission policy live here, in code, identical in every service.
// The per-user volume lives in the grouping links (user, role, lab), built
// per caller from the lab memberships the labs service resolves; the few
// policy rules only say what each role may do.
package authz

import (
	"fmt"

	"github.com/casbin/casbin/v2/model"

	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// Action is something a caller does to a lab's data.
type Action string

// The actions.
const (
	View          Action = "view"           // read the lab, its data and reports
	Edit          Action = "edit"           // change the lab itself, create sub-labs
	Import        Action = "import"         // add activity data: uploads and single entries
	Export        Action = "export"         // detailed exports
	ManageMembers Action = "manage_members" // grant and revoke lab roles
	Validate      Action = "validate"       // validate or reject activity data
	CloseYear     Action = "close_year"     // close a reporting year (reopening is Administer)
	Administer    Action = "admin"          // archive, purge, factor datasets: admins only
	Audit         Action = "audit"          // read the audit trail
	Plan          Action = "plan"           // set reduction objectives, work on scenarios
)

// Lab roles, held on a lab and inherited by its sub-labs.
const (
	RoleLabManager = "lab_manager"
	RoleLabMember  = "lab_member"
	// RoleValidator validates a lab's activity data (held on a lab, or
	// globally from the token's roles claim).
	RoleValidator = authn.RoleValidator
)

// anyLab is the domain of global roles: it matches every lab.
const anyLab = "*"

const modelText = `
[request_definition]
r = sub, dom, act

[policy_definition]
p = sub, dom, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && (p.dom == "*" || p.dom == r.dom) && (p.act == "*" || p.act == r.act)
`

// policy is the role→permission table. Global roles (admin, auditor) are
// linked on every lab; lab roles on the labs they are held on. Internal
// calls between services are not here: they belong to no lab, and each is
// allowed to the services that make it (RequireService).
var policy = [][]string{
	{"admin", anyLab, string(View)},
	{"admin", anyLab, string(Edit)},
	{"admin", anyLab, string(Import)},
	{"admin", anyLab, string(Export)},
	{"admin", anyLab, string(ManageMembers)},
	{"admin", anyLab, string(Administer)},
	{"admin", anyLab, string(Validate)},
	{"admin", anyLab, string(CloseYear)},
	{"admin", anyLab, string(Plan)},
	{"auditor", anyLab, string(View)},
	{"admin", anyLab, string(Audit)},
	{"auditor", anyLab, string(Export)},
	{"auditor", anyLab, string(Audit)},
	{RoleLabManager, anyLab, string(View)},
	{RoleLabManager, anyLab, string(Edit)},
	{RoleLabManager, anyLab, string(Import)},
	{RoleLabManager, anyLab, string(Export)},
	{RoleLabManager, anyLab, string(ManageMembers)},
	{RoleLabManager, anyLab, string(Validate)},
	{RoleLabManager, anyLab, string(CloseYear)},
	{RoleLabManager, anyLab, string(Plan)},
	{RoleValidator, anyLab, string(View)},
	{RoleValidator, anyLab, string(Validate)},
	{RoleLabManager, anyLab, string(Audit)},
	{RoleLabMember, anyLab, string(View)},
	{RoleLabMember, anyLab, string(Import)},
}

// IsLabRole reports whether role can be granted on a lab.
func IsLabRole(role string) bool {
	return role == RoleLabManager || role == RoleLabMember || role == RoleValidator
}

var baseModel = mustModel()

func mustModel() model.Model {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		panic(fmt.Sprintf("authz model: %v", err)) // a constant: fails in every test if wrong
	}
	return m
}
