import crypto from "node:crypto";
import { decryptWxData, encryptWxData } from "../../domain/wechat";

describe("WeChat encryptedData", () => {
	const key = crypto.randomBytes(16).toString("base64");
	const iv = crypto.randomBytes(16).toString("base64");

	it("decrypts what WeChat encrypted with the session key", () => {
		const data = { nickName: "小明", phoneNumber: "13800138000", watermark: { appid: "wxapp", timestamp: 1 } };
		expect(decryptWxData(key, encryptWxData(key, iv, data), iv, "wxapp")).toEqual(data);
	});

	it("refuses another app's data, a wrong key, a bad iv and garbage", () => {
		const forOther = encryptWxData(key, iv, { watermark: { appid: "other" } });
		expect(() => decryptWxData(key, forOther, iv, "wxapp")).toThrow(/appid/);
		const ours = encryptWxData(key, iv, { watermark: { appid: "wxapp" } });
		expect(() => decryptWxData(crypto.randomBytes(16).toString("base64"), ours, iv, "wxapp")).toThrow();
		expect(() => decryptWxData(key, ours, "short", "wxapp")).toThrow(/iv/);
		expect(() => decryptWxData(key, "bm90IGNpcGhlcnRleHQ=", iv, "wxapp")).toThrow();
		expect(() => decryptWxData("c2hvcnQ=", ours, iv, "wxapp")).toThrow(/session_key/);
	});
});
