package calcapi

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/contractbus"
)

// Contracts implements ElectricityContractService.
type Contracts struct {
	contracts *contractbus.Contracts
}

var _ calcv1connect.ElectricityContractServiceHandler = (*Contracts)(nil)

// NewContracts returns the handler.
func NewContracts(contracts *contractbus.Contracts) *Contracts {
	return &Contracts{contracts: contracts}
}

func (c *Contracts) SetElectricityContract(ctx context.Context, req *connect.Request[calcv1.SetElectricityContractRequest]) (*connect.Response[calcv1.SetElectricityContractResponse], error) {
	given := req.Msg.GetContract()
	contract, err := c.contracts.Set(ctx, req.Msg.GetLabId(), req.Msg.GetYear(), contractbus.Contract{
		Supplier: given.GetSupplier(), KgPerKWh: given.GetKgCo2EPerKwh(), UncertaintyPct: given.GetUncertaintyPct(), Source: given.GetSource(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.SetElectricityContractResponse{Contract: contractToProto(contract)}), nil
}

func (c *Contracts) GetElectricityContract(ctx context.Context, req *connect.Request[calcv1.GetElectricityContractRequest]) (*connect.Response[calcv1.GetElectricityContractResponse], error) {
	contract, err := c.contracts.Get(ctx, req.Msg.GetLabId(), req.Msg.GetYear())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.GetElectricityContractResponse{Contract: contractToProto(contract)}), nil
}

func (c *Contracts) ListElectricityContracts(ctx context.Context, req *connect.Request[calcv1.ListElectricityContractsRequest]) (*connect.Response[calcv1.ListElectricityContractsResponse], error) {
	contracts, err := c.contracts.List(ctx, req.Msg.GetLabId())
	if err != nil {
		return nil, err
	}
	res := &calcv1.ListElectricityContractsResponse{}
	for _, contract := range contracts {
		res.Contracts = append(res.Contracts, contractToProto(contract))
	}
	return connect.NewResponse(res), nil
}

func (c *Contracts) DeleteElectricityContract(ctx context.Context, req *connect.Request[calcv1.DeleteElectricityContractRequest]) (*connect.Response[calcv1.DeleteElectricityContractResponse], error) {
	if err := c.contracts.Delete(ctx, req.Msg.GetLabId(), req.Msg.GetYear()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&calcv1.DeleteElectricityContractResponse{}), nil
}

func contractToProto(c contractbus.Contract) *calcv1.ElectricityContract {
	return &calcv1.ElectricityContract{
		LabId: c.LabID.String(), Year: c.Year, Supplier: c.Supplier, KgCo2EPerKwh: c.KgPerKWh, UncertaintyPct: c.UncertaintyPct,
		Source: c.Source, UpdatedBy: c.UpdatedBy, UpdatedAt: timestamppb.New(c.UpdatedAt),
	}
}
