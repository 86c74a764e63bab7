import { invalidParam } from "./errors";
import { GrantType } from "./lottery";

/** What a winner sends to claim a prize. */
export interface ClaimInput {
	contactName?: string;
	contactPhone?: string;
	address?: string;
	remark?: string;
}

/**
 * What each grant type needs from the winner:
 * 1 ship by post → name, phone and address; 2 the creator contacts the winner → a phone (or WeChat id) to
 * reach them; 3 the winner fills in what the lottery asked for → the remark.
 */
export function validateClaim(grantType: number, input: ClaimInput): Required<ClaimInput> {
	const out = {
		contactName: input.contactName?.trim() ?? "",
		contactPhone: input.contactPhone?.trim() ?? "",
		address: input.address?.trim() ?? "",
		remark: input.remark?.trim() ?? "",
	};
	if (grantType === GrantType.SHIP) {
		if (!out.contactName) throw invalidParam("contactName", "the prize is shipped: give the recipient's name");
		if (!out.contactPhone) throw invalidParam("contactPhone", "the prize is shipped: give a phone number for the courier");
		if (!out.address) throw invalidParam("address", "the prize is shipped: give the shipping address");
	} else if (grantType === GrantType.CONTACT_ME) {
		if (!out.contactPhone) throw invalidParam("contactPhone", "the creator will contact you: give a phone number or WeChat id");
	} else if (grantType === GrantType.FILL_INFO) {
		if (!out.remark) throw invalidParam("remark", "fill in the information the lottery asked for");
	}
	return out;
}

export const ClaimState = { CLAIMED: 1, DELIVERED: 2 } as const;

export type ClaimStatus = "unclaimed" | "claimed" | "delivered" | "forfeited";

/** A winner's prize: claimed or delivered once claimed; forfeited when the deadline passed without a claim. */
export function claimStatus(claimState: number | null, awardDeadline: number, nowSeconds: number): ClaimStatus {
	if (claimState === ClaimState.DELIVERED) return "delivered";
	if (claimState === ClaimState.CLAIMED) return "claimed";
	return nowSeconds > awardDeadline ? "forfeited" : "unclaimed";
}
