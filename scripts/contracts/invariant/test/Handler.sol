// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {DataMarket} from "../src/DataMarket.sol";
import {TestToken} from "../src/TestToken.sol";
import {Tuple, Vectors} from "./Vectors.sol";
import {vm} from "./Vm.sol";

/// @title What forge's invariant runner calls on DataMarket
/// @notice Each function takes random seeds, picks an actor, listing or purchase from them, and
/// makes one market call as that actor. A model of every listing and purchase says beforehand
/// whether the call must succeed or revert, and with which error; any other outcome reverts the
/// handler, which fails the run (fail_on_revert). Ghost books count what each account paid in,
/// earned, was paid out and received, for the invariants in DataMarket.invariant.t.sol.
contract Handler {
    address internal constant ETH = address(0);
    uint256 internal constant WINDOW = 3 days;

    DataMarket public immutable market;
    TestToken public immutable token;
    address[] public actors;
    Tuple[] internal tuples;

    /// @dev Mirrors DataMarket.State.
    enum S {
        None,
        Paid,
        Delivered,
        Refunded,
        Settled
    }

    struct L {
        address seller;
        address token;
        uint256 price;
        bool active;
        bytes32 key;
    }

    struct P {
        uint256 listingId;
        address buyer;
        address seller;
        address token;
        uint256 price;
        S state;
        uint256 tuple;
        bool rightKey;
        bool disputed;
        uint64 deadline;
        uint64 settlesAt;
        bytes delivery;
    }

    L[] internal listingModel; // listing id - 1
    P[] internal purchaseModel; // purchase id - 1

    /// @dev Ghost books, per account and token (address 0: ETH).
    /// paid: prices paid into escrow by `buy`. earned: prices of the account's own sales that
    /// settled. paidOutFor: what the market paid out on the account's own call (its refunds and
    /// challenges as buyer, its withdrawals as seller), to whichever recipient. received: what
    /// the account received from the market as a recipient. funded: what the test dealt or
    /// minted to it.
    mapping(address => mapping(address => uint256)) public paid;
    mapping(address => mapping(address => uint256)) public earned;
    mapping(address => mapping(address => uint256)) public paidOutFor;
    mapping(address => mapping(address => uint256)) public received;
    mapping(address => mapping(address => uint256)) public funded;
    mapping(address => mapping(address => uint256)) public claimableModel;

    /// @notice How often each outcome happened in this run (a market call that succeeded, or
    /// reverted as the model said), so a run can show that every path was taken.
    mapping(string => uint256) public outcomes;
    string[] internal outcomeNames;

    constructor(DataMarket market_, TestToken token_) {
        market = market_;
        token = token_;
        for (uint160 i = 1; i <= 4; i++) {
            address a = address(0x1000 + i);
            actors.push(a);
            vm.label(a, string(abi.encodePacked("actor", bytes1(uint8(48 + i)))));
        }
        Tuple[] memory v = Vectors.all();
        for (uint256 i = 0; i < v.length; i++) {
            tuples.push(v[i]);
        }
    }

    // ------------------------------------------------------------------ views for the test

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function purchaseCountModel() external view returns (uint256) {
        return purchaseModel.length;
    }

    function purchaseStateModel(uint256 purchaseId) external view returns (uint8) {
        return uint8(purchaseModel[purchaseId - 1].state);
    }

    function outcomeCount() external view returns (uint256) {
        return outcomeNames.length;
    }

    function outcomeAt(uint256 i) external view returns (string memory name, uint256 count) {
        name = outcomeNames[i];
        count = outcomes[name];
    }

    // ------------------------------------------------------------------ the calls

    function list(uint256 actorSeed, uint256 priceSeed, bool useToken, bool viaUri) external {
        address seller = _actor(actorSeed);
        address tok = useToken ? address(token) : ETH;
        uint256 price = _price(tok, priceSeed);
        bytes32 key = keccak256(abi.encode("content key", listingModel.length + 1));
        vm.prank(seller);
        uint256 id = market.list(
            price,
            tok,
            keccak256("ciphertext"),
            keccak256(abi.encodePacked(key)),
            viaUri ? bytes("") : bytes(hex"01"),
            viaUri ? "ipfs://x" : "",
            "{}"
        );
        require(id == listingModel.length + 1, "listing id");
        listingModel.push(L({seller: seller, token: tok, price: price, active: true, key: key}));
        _count("list");
    }

    function reprice(uint256 listingSeed, uint256 actorSeed, uint256 priceSeed) external {
        if (listingModel.length == 0) return;
        uint256 id = 1 + listingSeed % listingModel.length;
        L storage l = listingModel[id - 1];
        address caller = actorSeed % 4 == 0 ? _actor(actorSeed >> 8) : l.seller;
        uint256 price = _price(l.token, priceSeed);
        vm.prank(caller);
        try market.reprice(id, price) {
            require(caller == l.seller && l.active, "reprice should have reverted");
            l.price = price;
            _count("reprice");
        } catch (bytes memory err) {
            if (caller != l.seller) _expect(err, DataMarket.NotSeller.selector, "reprice: NotSeller");
            else _expect(err, DataMarket.ListingNotActive.selector, "reprice: ListingNotActive");
        }
    }

    function delist(uint256 listingSeed, uint256 actorSeed) external {
        if (listingModel.length == 0) return;
        uint256 id = 1 + listingSeed % listingModel.length;
        L storage l = listingModel[id - 1];
        address caller = actorSeed % 4 == 0 ? _actor(actorSeed >> 8) : l.seller;
        vm.prank(caller);
        try market.delist(id) {
            require(caller == l.seller && l.active, "delist should have reverted");
            l.active = false;
            _count("delist");
        } catch (bytes memory err) {
            if (caller != l.seller) _expect(err, DataMarket.NotSeller.selector, "delist: NotSeller");
            else _expect(err, DataMarket.ListingNotActive.selector, "delist: ListingNotActive");
        }
    }

    function buy(uint256 actorSeed, uint256 listingSeed, uint256 tupleSeed, uint256 maxSeed) external {
        if (listingModel.length == 0) return;
        uint256 id = _pickListing(listingSeed);
        L storage l = listingModel[id - 1];
        address buyer = _actor(actorSeed);
        uint256 t = tupleSeed % tuples.length;
        bool belowPrice = maxSeed % 8 == 0;
        uint256 maxPrice = belowPrice ? l.price - 1 : l.price + maxSeed % 3;
        uint256 value;
        if (l.token == ETH) {
            vm.deal(buyer, buyer.balance + l.price);
            value = l.price;
        } else {
            token.faucet(buyer, l.price);
            vm.prank(buyer);
            token.approve(address(market), l.price);
        }
        funded[buyer][l.token] += l.price;
        bytes memory key = abi.encodePacked(tuples[t].bx, tuples[t].by);
        vm.prank(buyer);
        try market.buy{value: value}(id, key, maxPrice) returns (uint256 pid) {
            require(l.active && !belowPrice, "buy should have reverted");
            require(pid == purchaseModel.length + 1, "purchase id");
            paid[buyer][l.token] += l.price;
            P storage p = purchaseModel.push();
            p.listingId = id;
            p.buyer = buyer;
            p.seller = l.seller;
            p.token = l.token;
            p.price = l.price;
            p.state = S.Paid;
            p.tuple = t;
            p.deadline = uint64(block.timestamp + WINDOW);
            _count(l.token == ETH ? "buy ETH" : "buy token");
        } catch (bytes memory err) {
            if (!l.active) _expect(err, DataMarket.ListingNotActive.selector, "buy: ListingNotActive");
            else _expect(err, DataMarket.PriceAboveMax.selector, "buy: PriceAboveMax");
            // The payment stays with the buyer (funded, not paid); a token allowance is cleared.
            if (l.token != ETH) {
                vm.prank(buyer);
                token.approve(address(market), 0);
            }
        }
    }

    function deliver(uint256 purchaseSeed, bool right) external {
        if (purchaseModel.length == 0) return;
        uint256 pid = _pick(purchaseSeed, Want.Deliverable);
        P storage p = purchaseModel[pid - 1];
        Tuple storage t = tuples[p.tuple];
        bytes32 key = listingModel[p.listingId - 1].key;
        if (!right) key = keccak256(abi.encode(key, "wrong"));
        bytes32 mask = keccak256(abi.encodePacked("keybot delivery v2", t.sx, t.sy, block.chainid, address(market), pid));
        bytes memory delivery = abi.encodePacked(t.rx, t.ry, key ^ mask);
        vm.prank(p.seller);
        try market.deliver(pid, delivery) {
            require(p.state == S.Paid && block.timestamp <= p.deadline, "deliver should have reverted");
            p.state = S.Delivered;
            p.rightKey = right;
            p.delivery = delivery;
            p.settlesAt = uint64(block.timestamp + WINDOW);
            _count(right ? "deliver right key" : "deliver wrong key");
        } catch (bytes memory err) {
            if (p.state == S.Delivered || p.state == S.Settled) {
                _expect(err, DataMarket.AlreadyDelivered.selector, "deliver: AlreadyDelivered");
            } else if (p.state == S.Refunded) {
                _expect(err, DataMarket.AlreadyRefunded.selector, "deliver: AlreadyRefunded");
            } else {
                _expect(err, DataMarket.DeliveryTooLate.selector, "deliver: DeliveryTooLate");
            }
        }
    }

    /// @param kindSeed mostly an honest challenge; else one forged argument: another tuple's
    /// secret (WrongSecret), another shared point (WrongSharedPoint), a changed delivery
    /// (WrongDelivery), another buyer key (WrongBuyerKey), or another caller (NotBuyer).
    function challenge(uint256 purchaseSeed, uint256 kindSeed) external {
        if (purchaseModel.length == 0) return;
        uint256 pid = _pick(purchaseSeed, Want.Challengeable);
        P storage p = purchaseModel[pid - 1];
        // 0..3: one forged argument; 4: honest arguments from a random actor; 5..9: honest.
        uint256 kind = kindSeed % 10;
        Tuple storage t = tuples[p.tuple];
        Tuple storage o = tuples[(p.tuple + 1 + (kindSeed >> 8) % (tuples.length - 1)) % tuples.length];
        address caller = kind == 4 ? _actor(kindSeed >> 16) : p.buyer;
        bytes memory delivery = p.delivery;
        if (kind == 2 && delivery.length == 96) delivery[95] ^= 0x01;
        bytes memory b = kind == 3 ? abi.encodePacked(o.bx, o.by) : abi.encodePacked(t.bx, t.by);
        bytes memory s = kind == 1 ? abi.encodePacked(o.sx, o.sy) : abi.encodePacked(t.sx, t.sy);
        uint256 secret = kind == 0 ? o.b : t.b;
        uint256 inverse = kind == 0 ? o.bInv : t.bInv;

        (uint256 before, address tok) = (_balance(p.token, p.buyer), p.token);
        vm.prank(caller);
        try market.challenge(pid, secret, inverse, b, s, delivery) {
            require(
                p.state == S.Delivered && caller == p.buyer && block.timestamp < p.settlesAt && kind >= 4
                    && !p.rightKey,
                "challenge should have reverted"
            );
            require(_balance(tok, p.buyer) - before == p.price, "challenge refunded another amount");
            p.state = S.Refunded;
            received[p.buyer][tok] += p.price;
            paidOutFor[p.buyer][tok] += p.price;
            _count("challenge refunded");
        } catch (bytes memory err) {
            if (p.state != S.Delivered) {
                _expect(err, DataMarket.NotDelivered.selector, "challenge: NotDelivered");
            } else if (caller != p.buyer) {
                _expect(err, DataMarket.NotBuyer.selector, "challenge: NotBuyer");
            } else if (block.timestamp >= p.settlesAt) {
                _expect(err, DataMarket.ChallengeWindowOver.selector, "challenge: ChallengeWindowOver");
            } else if (kind == 2) {
                _expect(err, DataMarket.WrongDelivery.selector, "challenge: WrongDelivery");
            } else if (kind == 3) {
                _expect(err, DataMarket.WrongBuyerKey.selector, "challenge: WrongBuyerKey");
            } else if (kind == 0) {
                _expect(err, DataMarket.WrongSecret.selector, "challenge: WrongSecret");
            } else if (kind == 1) {
                _expect(err, DataMarket.WrongSharedPoint.selector, "challenge: WrongSharedPoint");
            } else {
                require(p.rightKey, "an honest challenge of a wrong key was refused");
                _expect(err, DataMarket.KeyIsRight.selector, "challenge: KeyIsRight");
            }
        }
    }

    function refund(uint256 purchaseSeed, uint256 actorSeed, uint256 toSeed) external {
        if (purchaseModel.length == 0) return;
        uint256 pid = _pick(purchaseSeed, Want.Refundable);
        P storage p = purchaseModel[pid - 1];
        address caller = actorSeed % 5 == 0 ? _actor(actorSeed >> 8) : p.buyer;
        address to = toSeed % 16 == 0 ? address(0) : _actor(toSeed >> 8);
        uint256 before = _balance(p.token, to);
        vm.prank(caller);
        try market.refund(pid, to) {
            require(
                caller == p.buyer && p.state == S.Paid && block.timestamp > p.deadline && to != address(0),
                "refund should have reverted"
            );
            require(_balance(p.token, to) - before == p.price, "refund paid another amount");
            p.state = S.Refunded;
            received[to][p.token] += p.price;
            paidOutFor[p.buyer][p.token] += p.price;
            _count("refund");
        } catch (bytes memory err) {
            if (caller != p.buyer) {
                _expect(err, DataMarket.NotBuyer.selector, "refund: NotBuyer");
            } else if (p.state == S.Delivered || p.state == S.Settled) {
                _expect(err, DataMarket.AlreadyDelivered.selector, "refund: AlreadyDelivered");
            } else if (p.state == S.Refunded) {
                _expect(err, DataMarket.AlreadyRefunded.selector, "refund: AlreadyRefunded");
            } else if (block.timestamp <= p.deadline) {
                _expect(err, DataMarket.DeadlineNotPassed.selector, "refund: DeadlineNotPassed");
            } else {
                _expect(err, DataMarket.ZeroRecipient.selector, "refund: ZeroRecipient");
            }
        }
    }

    function dispute(uint256 purchaseSeed, uint256 secretSeed, uint256 reasonSeed) external {
        if (purchaseModel.length == 0) return;
        uint256 pid = _pick(purchaseSeed, Want.Disputable);
        P storage p = purchaseModel[pid - 1];
        bool wrongSecret = secretSeed % 5 == 0;
        uint256 secret = tuples[(p.tuple + (wrongSecret ? 1 : 0)) % tuples.length].b;
        string memory reason = string(new bytes(reasonSeed % 1100));
        vm.prank(p.buyer);
        try market.dispute(pid, secret, reason) {
            require(
                (p.state == S.Delivered || p.state == S.Settled) && !p.disputed && bytes(reason).length <= 1024
                    && !wrongSecret,
                "dispute should have reverted"
            );
            p.disputed = true;
            _count("dispute");
        } catch (bytes memory err) {
            if (p.state != S.Delivered && p.state != S.Settled) {
                _expect(err, DataMarket.NotDelivered.selector, "dispute: NotDelivered");
            } else if (p.disputed) {
                _expect(err, DataMarket.AlreadyDisputed.selector, "dispute: AlreadyDisputed");
            } else if (bytes(reason).length > 1024) {
                _expect(err, DataMarket.ReasonTooLong.selector, "dispute: ReasonTooLong");
            } else {
                _expect(err, DataMarket.WrongSecret.selector, "dispute: WrongSecret");
            }
        }
    }

    function settle(uint256 purchaseSeed, uint256 actorSeed) external {
        if (purchaseModel.length == 0) return;
        uint256 pid = _pick(purchaseSeed, Want.Settleable);
        P storage p = purchaseModel[pid - 1];
        uint256[] memory ids = new uint256[](1);
        ids[0] = pid;
        vm.prank(_actor(actorSeed));
        // A purchase already settled is skipped (a stranger's settle must not make a seller's
        // withdraw revert); one not delivered or still in its window is refused.
        bool already = p.state == S.Settled;
        try market.settle(ids) {
            require(_settleable(p) || already, "settle should have reverted");
            if (!already) _settled(p);
            _count(already ? "settle: already settled, skipped" : "settle");
        } catch (bytes memory err) {
            require(!_settleable(p) && !already, "settle refused a settleable purchase");
            _expect(err, DataMarket.NotSettled.selector, "settle: NotSettled");
        }
    }

    function withdraw(uint256 actorSeed, bool useToken, uint256 toSeed, uint256 purchaseSeed, bool settleFirst)
        external
    {
        address seller = _actor(actorSeed);
        address tok = useToken ? address(token) : ETH;
        address to = toSeed % 16 == 0 ? address(0) : _actor(toSeed >> 8);
        uint256 pid = settleFirst && purchaseModel.length > 0 ? _pick(purchaseSeed, Want.Settleable) : 0;
        uint256[] memory ids = new uint256[](pid == 0 ? 0 : 1);
        bool settles;
        bool already;
        uint256 amount = claimableModel[seller][tok];
        if (pid != 0) {
            ids[0] = pid;
            P storage p = purchaseModel[pid - 1];
            settles = _settleable(p);
            already = p.state == S.Settled;
            if (settles && p.seller == seller && p.token == tok) amount += p.price;
        }
        uint256 before = _balance(tok, to);
        vm.prank(seller);
        try market.withdraw(tok, to, ids) {
            require(to != address(0) && (pid == 0 || settles || already) && amount > 0, "withdraw should have reverted");
            require(_balance(tok, to) - before == amount, "withdraw paid another amount");
            if (settles) _settled(purchaseModel[pid - 1]);
            claimableModel[seller][tok] = 0;
            received[to][tok] += amount;
            paidOutFor[seller][tok] += amount;
            _count(settles ? "withdraw after settling" : "withdraw");
        } catch (bytes memory err) {
            if (to == address(0)) {
                _expect(err, DataMarket.ZeroRecipient.selector, "withdraw: ZeroRecipient");
            } else if (pid != 0 && !settles && !already) {
                _expect(err, DataMarket.NotSettled.selector, "withdraw: NotSettled");
            } else {
                require(amount == 0, "withdraw refused a claimable balance");
                _expect(err, DataMarket.NothingToWithdraw.selector, "withdraw: NothingToWithdraw");
            }
        }
    }

    function warp(uint256 secondsSeed) external {
        // Mostly hours, sometimes days: deliveries happen in time, and deadlines and windows pass.
        vm.warp(block.timestamp + secondsSeed % (secondsSeed % 4 == 0 ? 4 days : 12 hours));
    }

    // ------------------------------------------------------------------ helpers

    /// @dev What a call is looking for: a purchase it can deliver, challenge, refund, dispute
    /// or settle.
    enum Want {
        Deliverable,
        Challengeable,
        Refundable,
        Disputable,
        Settleable
    }

    /// @dev A purchase id from `seed`: three times in four the first purchase that is `want`
    /// from a random start (where the interesting calls are), else any purchase (where the
    /// refusals are).
    function _pick(uint256 seed, Want want) internal view returns (uint256) {
        uint256 n = purchaseModel.length;
        uint256 start = seed % n;
        if ((seed >> 128) % 4 != 0) {
            for (uint256 i = 0; i < n; i++) {
                uint256 j = (start + i) % n;
                if (_is(purchaseModel[j], want)) return j + 1;
            }
        }
        return start + 1;
    }

    function _is(P storage p, Want want) internal view returns (bool) {
        if (want == Want.Deliverable) return p.state == S.Paid && block.timestamp <= p.deadline;
        if (want == Want.Challengeable) return p.state == S.Delivered && block.timestamp < p.settlesAt;
        if (want == Want.Refundable) return p.state == S.Paid && block.timestamp > p.deadline;
        if (want == Want.Disputable) return (p.state == S.Delivered || p.state == S.Settled) && !p.disputed;
        return _settleable(p);
    }

    /// @dev A listing id from `seed`: three times in four the first active one from a random
    /// start, else any.
    function _pickListing(uint256 seed) internal view returns (uint256) {
        uint256 n = listingModel.length;
        uint256 start = seed % n;
        if ((seed >> 128) % 4 != 0) {
            for (uint256 i = 0; i < n; i++) {
                if (listingModel[(start + i) % n].active) return (start + i) % n + 1;
            }
        }
        return start + 1;
    }

    function _settleable(P storage p) internal view returns (bool) {
        return p.state == S.Delivered && block.timestamp >= p.settlesAt;
    }

    function _settled(P storage p) internal {
        p.state = S.Settled;
        earned[p.seller][p.token] += p.price;
        claimableModel[p.seller][p.token] += p.price;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _price(address tok, uint256 seed) internal pure returns (uint256) {
        // The test token's faucet gives at most 10^12 a call.
        return 1 + seed % (tok == ETH ? 10 ether : 1e12);
    }

    function _balance(address tok, address who) internal view returns (uint256) {
        return tok == ETH ? who.balance : token.balanceOf(who);
    }

    /// @dev A revert the model expected must carry exactly the error it named.
    function _expect(bytes memory err, bytes4 selector, string memory what) internal {
        require(err.length >= 4 && bytes4(err) == selector, what);
        _count(what);
    }

    function _count(string memory name) internal {
        if (outcomes[name] == 0) outcomeNames.push(name);
        outcomes[name]++;
    }
}
