// A client this project did not write (ethers v6) against an L1 endpoint:
// chain id, balances, a signed transfer, a deposit to the Bridge, its receipt and logs.
//
//   node client.mjs RPC_URL PRIVATE_KEY BRIDGE_ADDRESS
//
// Prints one JSON object with what it saw; exits non-zero on any failure.
import { ethers } from "ethers";

const [url, key, bridgeAddress] = process.argv.slice(2);
if (!url || !key || !bridgeAddress) {
  console.error("usage: node client.mjs RPC_URL PRIVATE_KEY BRIDGE_ADDRESS");
  process.exit(2);
}

const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 100 });
// ethers caches identical reads for a moment; the NonceManager counts nonces locally so
// two transactions sent back to back never reuse one.
const wallet = new ethers.NonceManager(new ethers.Wallet(key, provider));
const address = await wallet.getAddress();
const bridge = new ethers.Contract(
  bridgeAddress,
  [
    "function deposit(address recipient) payable returns (uint64)",
    "function depositCount() view returns (uint256)",
    "event DepositQueued(uint64 indexed index, address indexed sender, address indexed recipient, uint256 amount, uint64 l1Block, bytes32 depositHash, bytes32 accumulator)",
  ],
  wallet,
);

const network = await provider.getNetwork();
const recipient = ethers.Wallet.createRandom().address;

const transfer = await wallet.sendTransaction({ to: recipient, value: ethers.parseEther("0.25") });
const transferReceipt = await transfer.wait(1, 30_000);
// Balances at explicit blocks: ethers caches "latest" for a moment.
const before = await provider.getBalance(address, transferReceipt.blockNumber - 1);
const recipientBalance = await provider.getBalance(recipient);

const depositTx = await bridge.deposit(recipient, { value: ethers.parseEther("1.5") });
const depositReceipt = await depositTx.wait(1, 30_000);
const parsed = depositReceipt.logs
  .map((log) => bridge.interface.parseLog(log))
  .filter((event) => event && event.name === "DepositQueued");
const logs = await bridge.queryFilter(bridge.filters.DepositQueued(null, null, recipient), 0, "latest");

console.log(
  JSON.stringify({
    chainId: Number(network.chainId),
    blockNumber: Number(await provider.send("eth_blockNumber", [])),
    depositBlock: depositReceipt.blockNumber,
    balanceBefore: before.toString(),
    balanceAfter: (await provider.getBalance(address, depositReceipt.blockNumber)).toString(),
    transferStatus: transferReceipt.status,
    transferGasUsed: transferReceipt.gasUsed.toString(),
    recipient,
    recipientBalance: recipientBalance.toString(),
    depositStatus: depositReceipt.status,
    depositEvents: parsed.map((e) => ({
      index: Number(e.args.index),
      recipient: e.args.recipient,
      amount: e.args.amount.toString(),
    })),
    queriedLogs: logs.length,
    depositCount: Number(await bridge.depositCount()),
  }),
);
