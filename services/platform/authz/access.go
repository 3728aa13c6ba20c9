package authz

import (
	"fmt"
	"slices"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/util"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// Grant is a lab role a caller holds on a lab, directly or inherited from
// an ancestor lab.
type Grant struct {
	LabID string
	Role  string
}

// Access is what one caller may do: a Casbin enforcer holding the policy
// and this caller's links.
type Access struct {
	principal authn.Principal
	enforcer  *casbin.Enforcer
	labs      []string // labs with a grant, in order
}

// NewAccess builds the access of principal holding grants.
func NewAccess(principal authn.Principal, grants []Grant) (*Access, error) {
	enforcer, err := casbin.NewEnforcer(baseModel.Copy())
	if err != nil {
		return nil, fmt.Errorf("authz enforcer: %w", err)
	}
	// A global role's link, on "*", matches every lab.
	enforcer.AddNamedDomainMatchingFunc("g", "keyMatch", util.KeyMatch)
	if _, err := enforcer.AddPolicies(policy); err != nil {
		return nil, fmt.Errorf("authz policy: %w", err)
	}
	subject := "user:" + principal.Subject
	var links [][]string
	for _, role := range principal.Roles {
		links = append(links, []string{subject, role, anyLab})
	}
	var labs []string
	for _, grant := range grants {
		if !IsLabRole(grant.Role) || grant.LabID == "" || grant.LabID == anyLab {
			continue
		}
		links = append(links, []string{subject, grant.Role, grant.LabID})
		labs = append(labs, grant.LabID)
	}
	if len(links) > 0 {
		if _, err := enforcer.AddGroupingPolicies(dedupe(links)); err != nil {
			return nil, fmt.Errorf("authz links: %w", err)
		}
	}
	slices.Sort(labs)
	return &Access{principal: principal, enforcer: enforcer, labs: slices.Compact(labs)}, nil
}

// Principal is the caller.
func (a *Access) Principal() authn.Principal { return a.principal }

// Can reports whether the caller may do action on lab labID.
func (a *Access) Can(labID string, action Action) bool {
	if labID == "" || labID == anyLab {
		return false
	}
	allowed, err := a.enforcer.Enforce("user:"+a.principal.Subject, labID, string(action))
	return err == nil && allowed
}

// CanEverywhere reports whether a global role lets the caller do action on
// every lab.
func (a *Access) CanEverywhere(action Action) bool {
	allowed, err := a.enforcer.Enforce("user:"+a.principal.Subject, anyLab, string(action))
	return err == nil && allowed
}

// Require returns nil when the caller may do action on labID. Otherwise, if
// the caller cannot even see the lab, it returns notFound (the caller's
// "no such resource" error: ids leak nothing); if it can see it, a
// PermissionDenied error naming the action.
func (a *Access) Require(labID string, action Action, notFound error) error {
	if a.Can(labID, action) {
		return nil
	}
	if !a.Can(labID, View) {
		return notFound
	}
	return apperr.PermissionDenied("your role on this lab does not allow %s", describe(action))
}

// LabsWith returns the labs the caller may do action on, for list filters:
// all is true when a global role allows it everywhere (labIDs is then nil).
func (a *Access) LabsWith(action Action) (all bool, labIDs []string) {
	if a.CanEverywhere(action) {
		return true, nil
	}
	for _, labID := range a.labs {
		if a.Can(labID, action) {
			labIDs = append(labIDs, labID)
		}
	}
	return false, labIDs
}

func describe(action Action) string {
	switch action {
	case View:
		return "viewing it"
	case Edit:
		return "editing it"
	case Import:
		return "adding activity data"
	case Export:
		return "exporting its data"
	case ManageMembers:
		return "managing its members"
	case Validate:
		return "validating its data"
	case CloseYear:
		return "closing its reporting years"
	case Audit:
		return "reading its audit trail (lab managers, auditors and admins)"
	case Plan:
		return "setting its reduction objectives (lab managers and admins)"
	case Administer:
		return "this (admins only)"
	default:
		return string(action)
	}
}

func dedupe(rows [][]string) [][]string {
	seen := map[string]bool{}
	var out [][]string
	for _, row := range rows {
		key := fmt.Sprint(row)
		if !seen[key] {
			seen[key] = true
			out = append(out, row)
		}
	}
	return out
}
