package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
)

// Cloud and AI services bought from outside. Energy-based when the energy
// or the GPU hours are known: IT energy × the provider's power usage
// effectiveness (PUE) × the grid factor of the data centre's country
// (location- and market-based, as the lab's own electricity; reported in
// scope 3 since the lab does not buy that electricity). Spend-based
// otherwise: the amount × the EPA factor of NAICS 518210 (data processing
// and hosting).
//
// PUE defaults are the providers' published fleet averages as collected by
// the Cloud Carbon Footprint methodology; on-premise and other providers
// take the Uptime Institute survey average. GPU power at full load is the
// same methodology's table (TechPowerUp figures).
var (
	providerPUE = map[string]float64{"aws": 1.135, "google": 1.1, "azure": 1.185, "other": 1.58}
	gpuWatts    = map[string]float64{"a100": 407, "v100": 306, "t4": 71, "a10g": 153, "p100": 306, "k80": 306}
)

const hostingCategory = "518210"

func init() {
	register(&kinds.Kind{
		Name:        "cloud",
		Module:      "external_cloud_and_ai",
		Description: "Cloud services: their IT energy times the provider's PUE times the grid factor of the data centre's country, or, when only the bill is known, its amount times the spend factor of data processing and hosting (scope 3).",
		Columns: []kinds.Column{
			{Name: "provider", Type: kinds.TypeText, Required: true, Description: "aws, google, azure or other"},
			{Name: "service", Type: kinds.TypeText, Description: "What the service is (optional)"},
			{Name: "country", Type: kinds.TypeText, Description: "ISO code of the data centre's country (energy-based; default: the lab's)"},
			{Name: "kwh", Type: kinds.TypeNumber, Unit: "kWh", Description: "IT energy used, as the provider's carbon tool reports it (energy-based)"},
			{Name: "pue", Type: kinds.TypeNumber, Description: "Power usage effectiveness, when known (default: the provider's published average)"},
			{Name: "amount", Type: kinds.TypeNumber, Description: "The amount billed, excluding VAT (spend-based, when kwh is not given)"},
			{Name: "currency", Type: kinds.TypeText, Description: "ISO 4217 code of amount: CHF, EUR, GBP or USD"},
		},
		Example: []string{"google", "Compute Engine, europe-west6", "CH", "5200", "", "", ""},
		Formula: computeCloud,
	})
	register(&kinds.Kind{
		Name:        "ai",
		Module:      "external_cloud_and_ai",
		Description: "GPU time bought for AI training or inference: GPU hours times the GPU's power at full load times the provider's PUE times the grid factor of the data centre's country (scope 3).",
		Columns: []kinds.Column{
			{Name: "provider", Type: kinds.TypeText, Required: true, Description: "aws, google, azure or other"},
			{Name: "service", Type: kinds.TypeText, Description: "What the work was (optional)"},
			{Name: "country", Type: kinds.TypeText, Description: "ISO code of the data centre's country (default: the lab's)"},
			{Name: "gpu_model", Type: kinds.TypeText, Description: "a100, v100, t4, a10g, p100 or k80 (or give gpu_power_w)"},
			{Name: "gpu_power_w", Type: kinds.TypeNumber, Unit: "W", Description: "The GPU's power at full load, for another model"},
			{Name: "gpu_hours", Type: kinds.TypeNumber, Unit: "h", Required: true, Description: "GPU hours used (GPUs × hours)"},
			{Name: "pue", Type: kinds.TypeNumber, Description: "Power usage effectiveness, when known (default: the provider's published average)"},
		},
		Derived: []kinds.Column{{Name: "facility_kwh", Type: kinds.TypeNumber, Unit: "kWh", Description: "The data centre's energy: GPU energy times the PUE"}},
		Example: []string{"aws", "Fine-tuning a language model", "GB", "a100", "", "800", ""},
		Formula: computeAI,
	})
}

// dataCentre reads the provider, its PUE and the country.
func dataCentre(row kinds.Row, env kinds.Env) (provider string, pue float64, country string, err error) {
	provider, errProvider := row.Choice("provider", "", "aws", "google", "azure", "other")
	pue, errPUE := row.Number("pue", false, 0, 1, 5)
	if err := kinds.FirstError(errProvider, errPUE); err != nil {
		return "", 0, "", err
	}
	if pue == 0 {
		pue = providerPUE[provider]
	}
	country, err = row.Country("country", env.LabCountry)
	return provider, pue, country, err
}

// dataCentreEnergy is what kWh of IT energy emit in a country's data centre.
func dataCentreEnergy(env kinds.Env, kWh float64, country string) ([]kinds.Emission, error) {
	// The provider's supply, not the lab's: the lab's contract does not
	// apply.
	emissions, err := env.Electricity(kWh, country, nil)
	var missing *kinds.MissingFactorError
	if err != nil && country != env.LabCountry && errors.As(err, &missing) {
		return nil, &kinds.FieldError{Column: "country", Message: fmt.Sprintf("the factor dataset has no electricity factor for %s: it has one for %s", country, kinds.RegionList(env.Factors.Regions(missing.Key)))}
	}
	for i := range emissions {
		emissions[i].EmissionType, emissions[i].Scope = "cloud_electricity", 3
	}
	return emissions, err
}

func computeCloud(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	provider, pue, country, err := dataCentre(row, env)
	if err != nil {
		return kinds.Activity{}, err
	}
	service, _ := row.Text("service", false)
	kWh, errKWh := row.Number("kwh", false, -1, 0, 1e12)
	amount, errAmount := row.Number("amount", false, -1, 0, 1e12)
	if err := kinds.FirstError(errKWh, errAmount); err != nil {
		return kinds.Activity{}, err
	}
	inputs := []kinds.Input{{Name: "provider", Value: provider}, {Name: "service", Value: service}}
	switch {
	case kWh >= 0:
		facility := kWh * pue
		emissions, err := dataCentreEnergy(env, facility, country)
		if err != nil {
			return kinds.Activity{}, err
		}
		return kinds.Activity{Inputs: append(inputs, kinds.Input{Name: "country", Value: country}, kinds.Input{Name: "kwh", Value: kWh}, kinds.Input{Name: "pue", Value: pue},
			kinds.Input{Name: "facility_kwh", Value: facility}), Emissions: emissions}, nil
	case amount >= 0:
		currency, err := row.Text("currency", true)
		if err != nil {
			return kinds.Activity{}, err
		}
		currency = strings.ToUpper(currency)
		factor, _, err := env.Factor(factors.Key{Kind: "purchases", EmissionType: "spend", Classification: hostingCategory, Region: "US"})
		if err != nil {
			return kinds.Activity{}, err
		}
		spend, err := spendEmission(env, amount, currency, factor)
		if err != nil {
			return kinds.Activity{}, &kinds.FieldError{Column: "currency", Message: err.Error()}
		}
		spend.emission.EmissionType = "cloud_spend"
		return kinds.Activity{Inputs: append(append(inputs, kinds.Input{Name: "amount", Value: amount}, kinds.Input{Name: "currency", Value: currency}), spend.inputs...),
			Emissions: []kinds.Emission{spend.emission}}, nil
	default:
		return kinds.Activity{}, &kinds.FieldError{Column: "kwh", Message: "give the energy used (kwh) or the amount billed (amount and currency)"}
	}
}

func computeAI(row kinds.Row, env kinds.Env) (kinds.Activity, error) {
	provider, pue, country, err := dataCentre(row, env)
	if err != nil {
		return kinds.Activity{}, err
	}
	service, _ := row.Text("service", false)
	hours, errHours := row.Number("gpu_hours", true, 0, 0, 1e9)
	power, errPower := row.Number("gpu_power_w", false, 0, 0, 5000)
	model := strings.ToLower(row["gpu_model"])
	if err := kinds.FirstError(errHours, errPower); err != nil {
		return kinds.Activity{}, err
	}
	if power == 0 {
		known, ok := gpuWatts[model]
		if !ok {
			return kinds.Activity{}, &kinds.FieldError{Column: "gpu_model", Message: fmt.Sprintf("%q is not a GPU model with a known power (a100, v100, t4, a10g, p100, k80): give gpu_power_w", row["gpu_model"])}
		}
		power = known
	}
	kWh := hours * power / 1000 * pue
	emissions, err := dataCentreEnergy(env, kWh, country)
	if err != nil {
		return kinds.Activity{}, err
	}
	for i := range emissions {
		emissions[i].EmissionType = "ai_electricity"
	}
	return kinds.Activity{Inputs: []kinds.Input{{Name: "provider", Value: provider}, {Name: "service", Value: service}, {Name: "country", Value: country},
		{Name: "gpu_model", Value: model}, {Name: "gpu_power_w", Value: power}, {Name: "gpu_hours", Value: hours}, {Name: "pue", Value: pue}, {Name: "facility_kwh", Value: kWh}},
		Emissions: emissions}, nil
}
