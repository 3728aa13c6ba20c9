package labsbus

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// The fields a client may change, by their API names.
var allPaths = []string{"code", "name", "description", "parent_id", "country"}

const pathList = "code, name, description, parent_id, country"

var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

const (
	maxNameLength        = 200
	maxDescriptionLength = 2000
)

// validated applies the fields named in paths onto current and checks the
// result, reporting every problem at once.
func (b *Business) validated(current Lab, fields Fields, paths []string) (Lab, error) {
	lab := current
	var violations apperr.Violations
	for _, path := range paths {
		switch path {
		case "code":
			lab.Code = strings.TrimSpace(fields.Code)
			switch {
			case lab.Code == "":
				violations.Add("code", "required: the lab's institutional code, for example ENAC-LAB1")
			case !codePattern.MatchString(lab.Code):
				violations.Add("code", "%q is not a valid code: 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit", lab.Code)
			}
		case "name":
			lab.Name = strings.TrimSpace(fields.Name)
			switch {
			case lab.Name == "":
				violations.Add("name", "required")
			case utf8.RuneCountInString(lab.Name) > maxNameLength:
				violations.Add("name", "at most %d characters (got %d)", maxNameLength, utf8.RuneCountInString(lab.Name))
			}
		case "description":
			lab.Description = strings.TrimSpace(fields.Description)
			if n := utf8.RuneCountInString(lab.Description); n > maxDescriptionLength {
				violations.Add("description", "at most %d characters (got %d)", maxDescriptionLength, n)
			}
		case "parent_id":
			lab.ParentID = nil
			if parent := strings.TrimSpace(fields.ParentID); parent != "" {
				parentID, err := uuid.Parse(parent)
				if err != nil {
					violations.Add("parent_id", "%q is not a lab id (a UUID)", parent)
				} else {
					lab.ParentID = &parentID
				}
			}
			if lab.ParentID != nil && current.ID != uuid.Nil && *lab.ParentID == current.ID {
				violations.Add("parent_id", "a lab cannot be its own parent")
			}
		case "country":
			lab.Country = strings.ToUpper(strings.TrimSpace(fields.Country))
			if lab.Country == "" {
				violations.Add("country", "required: an ISO 3166-1 alpha-2 code such as CH, FR or DE")
			} else if official, alias := reservedAliases[lab.Country]; alias {
				violations.Add("country", "%q is not an ISO 3166-1 alpha-2 country code: use %s", fields.Country, official)
			} else if !isCountry(lab.Country) {
				violations.Add("country", "%q is not an ISO 3166-1 alpha-2 country code (such as CH, FR or DE)", fields.Country)
			}
		}
	}
	if err := violations.Err(); err != nil {
		return Lab{}, err
	}
	return lab, nil
}

// reservedAliases are codes ISO 3166-1 reserves for another country's
// common name; the country's own code is the one to store.
var reservedAliases = map[string]string{"UK": "GB", "EL": "GR"}

// isCountry accepts exactly the two-letter codes ISO 3166-1 assigns to
// countries (not macro-regions or private-use codes such as EU or ZZ),
// plus XK, the user-assigned code in general use for Kosovo.
func isCountry(code string) bool {
	if len(code) != 2 {
		return false
	}
	region, err := language.ParseRegion(code)
	return err == nil && region.IsCountry() && region.String() == code
}

func nonEmptyPaths(fields Fields) []string {
	var paths []string
	for path, value := range map[string]string{
		"code": fields.Code, "name": fields.Name, "description": fields.Description,
		"parent_id": fields.ParentID, "country": fields.Country,
	} {
		if strings.TrimSpace(value) != "" {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	return paths
}

func isMutablePath(path string) bool { return slices.Contains(allPaths, path) }

// lowerCode is the key labs are unique and ordered by.
func lowerCode(code string) string { return strings.ToLower(code) }
