import { AnnounceType, maskMobile, maskNickname, prizeProbability, validateLottery, type LotteryInput } from "../../domain/lottery";
import { claimStatus, validateClaim } from "../../domain/prize";

const now = 1_800_000_000;
const base = (extra: Partial<LotteryInput> = {}): LotteryInput => ({
	announceType: AnnounceType.AT_TIME,
	announceTime: now + 3600,
	awardDeadline: now + 86400,
	prizes: [{ type: 1, name: "Phone", count: 1, level: 1, grantType: 1, thumb: "p.png" }],
	...extra,
});

describe("lottery rules", () => {
	it("fills go-lottery's defaults: the name and thumb of the first prize, publish now", () => {
		const d = validateLottery(base({ prizes: [{ type: 1, name: "Mug", count: 2, level: 2, grantType: 1 }, { type: 1, name: "Phone", count: 1, level: 1, grantType: 1, thumb: "p.png" }] }), now);
		expect(d).toMatchObject({ name: "Phone", thumb: "p.png", publish: true, joinNumber: 0 });
		expect(validateLottery(base({ publishType: 2 }), now).publish).toBe(false);
	});

	it.each<[string, Partial<LotteryInput>]>([
		["prizes", { prizes: [] }],
		["prizes.level", { prizes: [{ type: 1, name: "a", count: 1, level: 2, grantType: 1 }] }],
		["prizes[0].count", { prizes: [{ type: 1, name: "a", count: 0, level: 1, grantType: 1 }] }],
		["prizes[0].name", { prizes: [{ type: 1, name: "  ", count: 1, level: 1, grantType: 1 }] }],
		["announceTime", { announceTime: now }],
		["joinNumber", { announceType: AnnounceType.AT_JOIN_NUMBER, joinNumber: 0 }],
		["awardDeadline", { awardDeadline: now + 3600 }],
		["announceTime", { announceType: AnnounceType.INSTANT, announceTime: now - 1 }],
	])("names %s when it breaks a rule", (field, extra) => {
		expect(() => validateLottery(base(extra), now)).toThrow(expect.objectContaining({ data: expect.objectContaining({ field }) }));
	});

	it("lets an instant lottery run without an end, and checks its odds add up to at most 100%", () => {
		expect(validateLottery(base({ announceType: AnnounceType.INSTANT, announceTime: 0 }), now).announceTime).toBe(0);
		const prizes = [1, 2, 3, 4].map(level => ({ type: 1, name: `p${level}`, count: 1, level, grantType: 1 }));
		expect(() => validateLottery(base({ announceType: AnnounceType.INSTANT, announceTime: 0, prizes }), now)).not.toThrow();
		expect(prizeProbability({ level: 3, probability: null })).toBe(1500);
		expect(prizeProbability({ level: 3, probability: 7 })).toBe(7);
		expect(prizeProbability({ level: 9, probability: null })).toBe(0);
		const greedy = prizes.map(p => ({ ...p, probability: 3000 }));
		expect(() => validateLottery(base({ announceType: AnnounceType.INSTANT, announceTime: 0, prizes: greedy }), now)).toThrow(/12000/);
	});
});

describe("masking", () => {
	it("keeps whole characters, emoji and CJK included", () => {
		expect(maskNickname("张三丰")).toBe("张*丰");
		expect(maskNickname("小明")).toBe("小*");
		expect(maskNickname("A")).toBe("*");
		expect(maskNickname("")).toBe("");
		expect(maskNickname("🎉party🎉")).toBe("🎉***🎉");
		const masked = maskNickname("😀😃😄😁");
		expect(Buffer.from(masked, "utf8").toString("utf8")).toBe(masked);
		expect(masked).toBe("😀**😁");
		expect(maskMobile("13800138000")).toBe("138****8000");
		expect(maskMobile("")).toBe("");
	});
});

describe("claims", () => {
	it("ask for what each grant type needs", () => {
		expect(() => validateClaim(1, { contactName: "a", contactPhone: "1" })).toThrow(/address/);
		expect(validateClaim(1, { contactName: " a ", contactPhone: "1", address: "x" })).toEqual({ contactName: "a", contactPhone: "1", address: "x", remark: "" });
		expect(() => validateClaim(2, {})).toThrow(/contactPhone/);
		expect(() => validateClaim(3, { contactPhone: "1" })).toThrow(/remark/);
	});

	it("are forfeited after the deadline unless claimed", () => {
		expect(claimStatus(null, now, now)).toBe("unclaimed");
		expect(claimStatus(null, now, now + 1)).toBe("forfeited");
		expect(claimStatus(1, now, now + 1)).toBe("claimed");
		expect(claimStatus(2, now, now + 1)).toBe("delivered");
	});
});
