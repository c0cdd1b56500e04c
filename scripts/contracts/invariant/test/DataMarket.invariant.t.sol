// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {DataMarket} from "../src/DataMarket.sol";
import {TestToken} from "../src/TestToken.sol";
import {Handler} from "./Handler.sol";

/// @dev What forge reads from `targetSelectors()` (forge-std's StdInvariant.FuzzSelector).
struct FuzzSelector {
    address addr;
    bytes4[] selectors;
}

/// @title DataMarket v2 invariants under random call sequences (forge's invariant runner)
/// @notice After every call the Handler makes (list, reprice, delist, buy, deliver with a right or
/// a wrong key, challenge honest or forged, refund, dispute, settle, withdraw, and time passing,
/// across four accounts, ETH and an ERC-20):
/// - the market holds, in each token, exactly the prices of purchases in escrow (Paid or
///   Delivered) plus every seller's claimable balance;
/// - no account was paid out more than it paid in plus what it earned, and every account's
///   balance is exactly what the test gave it, less what it paid, plus what it received;
/// - the contract's purchase states and claimable balances are the model's.
contract DataMarketInvariantTest {
    DataMarket internal market;
    TestToken internal token;
    Handler internal handler;

    function setUp() public {
        token = new TestToken();
        address[] memory allowed = new address[](1);
        allowed[0] = address(token);
        market = new DataMarket(allowed);
        handler = new Handler(market, token);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        // buy, deliver and challenge twice: what everything else needs, and what v2 is about.
        bytes4[] memory s = new bytes4[](14);
        s[0] = Handler.list.selector;
        s[1] = Handler.reprice.selector;
        s[2] = Handler.delist.selector;
        s[3] = Handler.buy.selector;
        s[4] = Handler.buy.selector;
        s[5] = Handler.deliver.selector;
        s[6] = Handler.deliver.selector;
        s[7] = Handler.challenge.selector;
        s[8] = Handler.challenge.selector;
        s[9] = Handler.refund.selector;
        s[10] = Handler.dispute.selector;
        s[11] = Handler.settle.selector;
        s[12] = Handler.withdraw.selector;
        s[13] = Handler.warp.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: s});
    }

    function _tokens() internal view returns (address[2] memory) {
        return [address(0), address(token)];
    }

    function _balance(address tok, address who) internal view returns (uint256) {
        return tok == address(0) ? who.balance : token.balanceOf(who);
    }

    function invariant_escrowHoldsExactlyWhatIsOwed() public view {
        address[2] memory toks = _tokens();
        for (uint256 k = 0; k < 2; k++) {
            uint256 owed;
            uint256 n = market.purchaseCount();
            for (uint256 id = 1; id <= n; id++) {
                (uint256 listingId, uint256 price,,, DataMarket.State state,,,,) = market.purchases(id);
                (,, address tok,,) = market.listings(listingId);
                if (tok == toks[k] && (state == DataMarket.State.Paid || state == DataMarket.State.Delivered)) {
                    owed += price;
                }
            }
            for (uint256 i = 0; i < handler.actorCount(); i++) {
                owed += market.claimable(handler.actors(i), toks[k]);
            }
            require(_balance(toks[k], address(market)) == owed, "market balance != escrow + claimable");
        }
    }

    function invariant_nobodyIsPaidMoreThanPaidInPlusEarned() public view {
        address[2] memory toks = _tokens();
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address a = handler.actors(i);
            for (uint256 k = 0; k < 2; k++) {
                address t = toks[k];
                require(
                    handler.paidOutFor(a, t) <= handler.paid(a, t) + handler.earned(a, t),
                    "paid out more than paid in plus earned"
                );
                require(
                    _balance(t, a) == handler.funded(a, t) - handler.paid(a, t) + handler.received(a, t),
                    "balance differs from funded - paid + received"
                );
            }
        }
    }

    function invariant_contractAgreesWithModel() public view {
        uint256 n = market.purchaseCount();
        require(n == handler.purchaseCountModel(), "purchase count");
        for (uint256 id = 1; id <= n; id++) {
            (,,,, DataMarket.State state,,,,) = market.purchases(id);
            require(uint8(state) == handler.purchaseStateModel(id), "purchase state");
        }
        address[2] memory toks = _tokens();
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address a = handler.actors(i);
            for (uint256 k = 0; k < 2; k++) {
                require(market.claimable(a, toks[k]) == handler.claimableModel(a, toks[k]), "claimable");
            }
        }
    }

    /// @dev Logged after each run (forge -vv): which outcomes the run reached.
    function afterInvariant() public view {
        uint256 n = handler.outcomeCount();
        for (uint256 i = 0; i < n; i++) {
            (string memory name, uint256 count) = handler.outcomeAt(i);
            _log(name, count);
        }
    }

    function _log(string memory name, uint256 value) internal view {
        // forge's console: address(bytes20("console.log")), log(string,uint256).
        (bool ok,) = address(0x000000000000000000636F6e736F6c652e6c6f67).staticcall(
            abi.encodeWithSignature("log(string,uint256)", name, value)
        );
        ok;
    }
}
