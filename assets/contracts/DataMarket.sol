// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title keybot's data market, version 2
/// @notice Sellers list encrypted data for a price; a buyer pays into escrow with a one-time
/// public key; the seller delivers the content key masked with a secret shared with that key
/// (R ‖ c, MARKET.md "Version 2"). The payment settles to the seller CHALLENGE_WINDOW after the
/// delivery; until then the buyer can prove on chain that the delivered key is not the one the
/// listing committed to, and is refunded. A seller who does not deliver in time is refunded too.
/// @dev No owner, no admin, no upgrade, no fee: after deployment nobody can change the rules or
/// move anyone's money. No immutables either, so the runtime code of every deployment equals the
/// committed artifact's `deployedBytecode` byte for byte (`keybot market join` checks exactly that).
/// Everything an indexer needs is in the events; storage keeps only what the rules check.
/// The reentrancy guard lives in transient storage (EIP-1153, the artifact targets cancun): about
/// 2,000 gas less per guarded call than OpenZeppelin's storage guard, ~4,800 less for a reverted
/// one (scripts/contracts/GAS.md), and OpenZeppelin 6 drops the storage guard anyway. solc warns
/// about transient storage in general; a guard that is cleared before each call returns is the
/// use it names as safe.
contract DataMarket is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice How long a seller has to deliver; after that the buyer may take the payment back
    /// and a delivery is refused.
    uint256 public constant DELIVERY_WINDOW = 3 days;
    /// @notice How long after a delivery the buyer may challenge it; then it settles.
    uint256 public constant CHALLENGE_WINDOW = 3 days;
    /// @notice The most ciphertext a listing carries inline (in its calldata and `Listed` event).
    uint256 public constant MAX_INLINE_DATA = 32 * 1024;
    /// @notice The most metadata (compact JSON) a listing carries.
    uint256 public constant MAX_META = 2 * 1024;
    /// @notice The most a URI may take; bounded like everything else strangers write into events.
    uint256 public constant MAX_URI = 2 * 1024;
    /// @notice The most a dispute's reason may take.
    uint256 public constant MAX_REASON = 1024;
    /// @notice An uncompressed secp256k1 public key without its 0x04 prefix: x ‖ y, 32 bytes each.
    uint256 public constant BUYER_KEY_LENGTH = 64;
    /// @notice A delivery: the seller's one-time point R = r·G (x ‖ y) and the masked key c.
    uint256 public constant DELIVERY_LENGTH = 96;

    /// @dev secp256k1: the field prime p, the group order n, and the generator G (whose y is
    /// even). ADDRESS_G is the Ethereum address of G, i.e. of the private key 1.
    uint256 private constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    uint256 private constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 private constant GX = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798;
    address private constant ADDRESS_G = 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf;

    /// @notice A purchase's state. `None` is the zero value, so an unknown id reads as `None`.
    /// Delivered becomes Settled (money to the seller) or Refunded (a successful challenge);
    /// Paid becomes Delivered or Refunded (no delivery in time).
    enum State {
        None,
        Paid,
        Delivered,
        Refunded,
        Settled
    }

    /// @dev Hashes, data, URI and metadata live in the `Listed` event only, except keyCommit,
    /// which a challenge compares against; storing 32 KiB would cost the seller ~20x more.
    struct Listing {
        address seller;
        bool active;
        address token;
        uint256 price;
        bytes32 keyCommit;
    }

    /// @dev The price is copied at purchase: a later reprice must not change what is in escrow.
    /// buyer, deadline, state and disputed share one storage slot. The buyer key and the delivery
    /// are kept as hashes (one slot each instead of two and three); a challenge passes them again
    /// as calldata, checked against the hashes, which binds every byte (R's parity included)
    /// exactly as reading them from storage would.
    struct Purchase {
        uint256 listingId;
        uint256 price;
        address buyer;
        uint64 deadline;
        State state;
        bool disputed;
        bytes32 buyerKeyHash;
        bytes32 deliveryHash;
        uint64 settlesAt;
    }

    /// @notice The block this market was deployed in, where an indexer starts reading events.
    /// @dev Storage, not an immutable: immutables are written into the runtime code and would
    /// make every deployment's code differ from the artifact.
    uint256 public deploymentBlock;
    /// @notice How many listings exist; listing ids are 1..listingCount.
    uint256 public listingCount;
    /// @notice How many purchases exist; purchase ids are 1..purchaseCount.
    uint256 public purchaseCount;

    mapping(uint256 listingId => Listing) public listings;
    mapping(uint256 purchaseId => Purchase) public purchases;
    mapping(address token => bool) private _allowed;
    mapping(address seller => mapping(address token => uint256)) private _claimable;

    /// @notice One per allow-listed token, at deployment: the accepted tokens, from events alone.
    event TokenAllowed(address indexed token);
    event Listed(
        uint256 indexed listingId,
        address indexed seller,
        address indexed token,
        uint256 price,
        bytes32 contentHash,
        bytes32 keyCommit,
        bytes data,
        string uri,
        string meta
    );
    event Repriced(uint256 indexed listingId, address indexed seller, uint256 price);
    event Delisted(uint256 indexed listingId, address indexed seller);
    /// @dev Three topics at most: the purchase and both parties, so a seller's `market serve`
    /// and a buyer's wallet can each filter on their own address. The listing id is in the data.
    /// buyerKey is the whole point B (64 bytes): the seller needs it to compute S = r·B.
    event Purchased(
        uint256 indexed purchaseId,
        address indexed buyer,
        address indexed seller,
        uint256 listingId,
        address token,
        uint256 price,
        bytes buyerKey,
        uint64 deadline
    );
    /// @dev delivery = R.x ‖ R.y ‖ c (96 bytes); the purchase settles CHALLENGE_WINDOW later.
    event Delivered(uint256 indexed purchaseId, address indexed seller, bytes delivery, uint64 settlesAt);
    /// @notice A challenge proved the delivered key wrong; `secret` is the buyer's one-time
    /// secret b, with which anyone can recompute the proof off chain. `Refunded` follows.
    event KeyProvenWrong(uint256 indexed purchaseId, address indexed buyer, address indexed seller, uint256 secret);
    event Refunded(uint256 indexed purchaseId, address indexed buyer, address indexed token, uint256 amount);
    /// @notice `secret` is the buyer's one-time secret b (checked against the buyer key), so every
    /// client can derive the key and judge the claim itself.
    event Disputed(uint256 indexed purchaseId, address indexed buyer, uint256 secret, string reason);
    /// @notice The purchase's price became the seller's claimable balance.
    event Settled(uint256 indexed purchaseId, address indexed seller, address indexed token, uint256 amount);
    event Withdrawn(address indexed seller, address indexed token, uint256 amount);

    /// @notice An allow-list entry that is not a contract.
    error NotAContract(address token);
    /// @notice The token is neither ETH (address 0) nor on this market's allow-list.
    error TokenNotAllowed(address token);
    error ZeroPrice();
    /// @notice contentHash or keyCommit is zero: nothing a buyer could check against.
    error MissingHash();
    /// @notice A listing needs its ciphertext inline (data) or a URI, exactly one of the two.
    error NeedDataOrUri();
    error DataTooLong(uint256 length, uint256 max);
    error UriTooLong(uint256 length, uint256 max);
    error MetaTooLong(uint256 length, uint256 max);
    error ReasonTooLong(uint256 length, uint256 max);
    error UnknownListing(uint256 listingId);
    error UnknownPurchase(uint256 purchaseId);
    error NotSeller(address caller);
    error NotBuyer(address caller);
    error ListingNotActive(uint256 listingId);
    /// @notice A buyer key must be 64 bytes x ‖ y, a point on secp256k1 with x below the group
    /// order.
    error BadBuyerKey();
    /// @notice The listing's price is above what the buyer agreed to pay (a reprice raced the buy).
    error PriceAboveMax(uint256 price, uint256 maxPrice);
    /// @notice msg.value must be the price for an ETH listing and zero for a token listing.
    error WrongPayment(uint256 sent, uint256 expected);
    /// @notice The token moved another amount than the price (a fee-on-transfer token).
    error TransferAmountMismatch(uint256 received, uint256 expected);
    error BadDeliveryLength(uint256 length, uint256 expected);
    /// @notice R is not a point on secp256k1 with x below the group order.
    error BadDeliveryPoint();
    error DeliveryTooLate(uint256 purchaseId, uint64 deadline);
    error AlreadyDelivered(uint256 purchaseId);
    error AlreadyRefunded(uint256 purchaseId);
    error NotDelivered(uint256 purchaseId);
    error AlreadyDisputed(uint256 purchaseId);
    error DeadlineNotPassed(uint256 purchaseId, uint64 deadline);
    error ChallengeWindowOver(uint256 purchaseId, uint64 settlesAt);
    /// @notice The delivery passed to `challenge` is not the one delivered.
    error WrongDelivery();
    /// @notice The buyer key passed to `challenge` is not the one the purchase was paid with.
    error WrongBuyerKey();
    /// @notice The secret is not the one-time secret of the purchase's buyer key.
    error WrongSecret();
    /// @notice S is not a point on secp256k1.
    error BadPoint();
    /// @notice S is not b·R.
    error WrongSharedPoint();
    /// @notice The delivered key matches the listing's keyCommit: the challenge fails and
    /// nothing changes.
    error KeyIsRight();
    error ZeroRecipient();
    /// @notice The purchase is not delivered, or its challenge window has not ended.
    error NotSettled(uint256 purchaseId);
    error NothingToWithdraw(address token);

    /// @param tokens ERC-20 tokens accepted as payment besides ETH. Fixed for the market's life:
    /// fee-on-transfer and rebasing tokens break escrow accounting, so only the deployer's
    /// vetted list is accepted, and nobody can widen it later.
    constructor(address[] memory tokens) {
        deploymentBlock = block.number;
        for (uint256 i = 0; i < tokens.length; i++) {
            if (tokens[i].code.length == 0) revert NotAContract(tokens[i]);
            _allowed[tokens[i]] = true;
            emit TokenAllowed(tokens[i]);
        }
    }

    /// @notice Whether listings may be priced in `token` (address 0 is ETH, always allowed).
    function isAllowedToken(address token) public view returns (bool) {
        return token == address(0) || _allowed[token];
    }

    /// @notice What `seller` can withdraw in `token`: the prices of their settled purchases, less
    /// what they withdrew. Delivered purchases still in their challenge window are not in it.
    function claimable(address seller, address token) external view returns (uint256) {
        return _claimable[seller][token];
    }

    /// @notice Lists ciphertext for sale. The caller is the seller.
    /// @param contentHash keccak256 of the ciphertext; the buyer checks it before anything else.
    /// @param keyCommit keccak256 of the content key; the buyer checks the delivered key with it,
    /// and a challenge proves a delivered key wrong against it.
    /// @param data the ciphertext inline (at most MAX_INLINE_DATA), or empty when `uri` is given.
    /// @param uri where the ciphertext is, or empty when `data` is given.
    /// @param meta compact JSON (MARKET.md); written by the seller, so shown sanitized.
    function list(
        uint256 price,
        address token,
        bytes32 contentHash,
        bytes32 keyCommit,
        bytes calldata data,
        string calldata uri,
        string calldata meta
    ) external returns (uint256 listingId) {
        if (!isAllowedToken(token)) revert TokenNotAllowed(token);
        if (price == 0) revert ZeroPrice();
        if (contentHash == bytes32(0) || keyCommit == bytes32(0)) revert MissingHash();
        if ((data.length == 0) == (bytes(uri).length == 0)) revert NeedDataOrUri();
        if (data.length > MAX_INLINE_DATA) revert DataTooLong(data.length, MAX_INLINE_DATA);
        if (bytes(uri).length > MAX_URI) revert UriTooLong(bytes(uri).length, MAX_URI);
        if (bytes(meta).length > MAX_META) revert MetaTooLong(bytes(meta).length, MAX_META);

        listingId = ++listingCount;
        listings[listingId] =
            Listing({seller: msg.sender, active: true, token: token, price: price, keyCommit: keyCommit});
        emit Listed(listingId, msg.sender, token, price, contentHash, keyCommit, data, uri, meta);
    }

    /// @notice Sets a new price for later purchases; purchases already paid keep theirs.
    /// @dev A reprice racing a purchase cannot take more than the buyer agreed to: `buy` refuses
    /// a price above its `maxPrice`.
    function reprice(uint256 listingId, uint256 price) external {
        Listing storage l = _activeListingOfSender(listingId);
        if (price == 0) revert ZeroPrice();
        l.price = price;
        emit Repriced(listingId, msg.sender, price);
    }

    /// @notice Stops sales for good. Purchases already paid can still be delivered or refunded.
    function delist(uint256 listingId) external {
        Listing storage l = _activeListingOfSender(listingId);
        l.active = false;
        emit Delisted(listingId, msg.sender);
    }

    /// @notice Pays the listing's price into escrow. The seller has DELIVERY_WINDOW to deliver
    /// the content key for `buyerKey`; after that, the buyer may take the payment back.
    /// @param buyerKey the buyer's one-time public key B, 64 bytes x ‖ y. Refused unless B is on
    /// the curve with x below the group order: a challenge uses B as the base of an ecrecover,
    /// which needs that, and the seller must be able to compute r·B.
    /// @param maxPrice the most the buyer agrees to pay (the price it saw); a higher price reverts.
    function buy(uint256 listingId, bytes calldata buyerKey, uint256 maxPrice)
        external
        payable
        nonReentrant
        returns (uint256 purchaseId)
    {
        Listing storage l = listings[listingId];
        if (!l.active) revert ListingNotActive(listingId);
        if (buyerKey.length != BUYER_KEY_LENGTH) revert BadBuyerKey();
        uint256 bx = _word(buyerKey, 0);
        if (bx >= N || !_onCurve(bx, _word(buyerKey, 32))) revert BadBuyerKey();
        uint256 price = l.price;
        if (price > maxPrice) revert PriceAboveMax(price, maxPrice);
        address token = l.token;
        if (msg.value != (token == address(0) ? price : 0)) {
            revert WrongPayment(msg.value, token == address(0) ? price : 0);
        }

        purchaseId = ++purchaseCount;
        uint64 deadline = uint64(block.timestamp + DELIVERY_WINDOW);
        purchases[purchaseId] = Purchase({
            listingId: listingId,
            price: price,
            buyer: msg.sender,
            deadline: deadline,
            state: State.Paid,
            disputed: false,
            buyerKeyHash: keccak256(buyerKey),
            deliveryHash: bytes32(0),
            settlesAt: 0
        });
        emit Purchased(purchaseId, msg.sender, l.seller, listingId, token, price, buyerKey, deadline);

        if (token != address(0)) {
            // Escrow must hold exactly what it will pay out: a token that delivers less than it
            // is asked to (a fee on transfer) would leave some other purchase short.
            uint256 before = IERC20(token).balanceOf(address(this));
            IERC20(token).safeTransferFrom(msg.sender, address(this), price);
            uint256 received = IERC20(token).balanceOf(address(this)) - before;
            if (received != price) revert TransferAmountMismatch(received, price);
        }
    }

    /// @notice The seller posts R ‖ c: R = r·G for a fresh secret r, c = K xor a hash of
    /// S = r·B (MARKET.md). Once per purchase, not after the deadline (so a buyer who waited
    /// for it can refund without a race), and the payment settles CHALLENGE_WINDOW later.
    /// @dev R must be on the curve with x below the group order: a challenge uses R as the base
    /// of an ecrecover, and an R that cannot be challenged would make a wrong key unrefundable.
    /// Only the hash of the delivery is stored; the event carries the bytes.
    function deliver(uint256 purchaseId, bytes calldata delivery) external {
        Purchase storage p = _purchase(purchaseId);
        Listing storage l = listings[p.listingId];
        if (msg.sender != l.seller) revert NotSeller(msg.sender);
        _requirePaid(purchaseId, p.state);
        // Slither's `timestamp` (low): the windows are days long, so the few seconds a block
        // proposer can shift block.timestamp cannot matter.
        // slither-disable-next-line timestamp
        if (block.timestamp > p.deadline) revert DeliveryTooLate(purchaseId, p.deadline);
        if (delivery.length != DELIVERY_LENGTH) revert BadDeliveryLength(delivery.length, DELIVERY_LENGTH);
        uint256 rx = _word(delivery, 0);
        if (rx >= N || !_onCurve(rx, _word(delivery, 32))) revert BadDeliveryPoint();

        p.state = State.Delivered;
        p.deliveryHash = keccak256(delivery);
        uint64 settlesAt = uint64(block.timestamp + CHALLENGE_WINDOW);
        p.settlesAt = settlesAt;
        emit Delivered(purchaseId, msg.sender, delivery, settlesAt);
    }

    /// @notice The buyer proves that the delivered key is not the listing's committed key, and
    /// gets the payment back. Before the purchase settles; reverts (KeyIsRight) when the key is
    /// right. Publishes b, so the content key too: a client never sends a challenge its own dry
    /// run says will revert.
    /// @param b the buyer's one-time secret; bInv its inverse mod n (the contract checks, it does
    /// not compute inverses).
    /// @param buyerKey B = b·G, 64 bytes x ‖ y, as paid with.
    /// @param s S = b·R = r·B, 64 bytes x ‖ y.
    /// @param delivery the 96 bytes delivered (R ‖ c).
    /// @dev ecrecover(0, 27 + (P.y & 1), P.x, P.x·k mod n) is the address of k·P (the precompile
    /// takes a zero hash and a high s; it returns address 0 on bad input, so no result is ever
    /// compared with something that can be 0). With bInv·B = G and b·bInv = 1, B = b·G as a whole
    /// point (B's hash was stored at buy, so the buyer cannot pick B now). With address(b·R) =
    /// address(S) and S on the curve, S = b·R (a 160-bit second preimage otherwise). Then c xor
    /// the mask is what the buyer would decrypt; the seller chose R and c, and nothing else is free.
    function challenge(
        uint256 purchaseId,
        uint256 b,
        uint256 bInv,
        bytes calldata buyerKey,
        bytes calldata s,
        bytes calldata delivery
    ) external nonReentrant {
        Purchase storage p = _challengeable(purchaseId, buyerKey, delivery);
        _checkSecret(b, bInv, buyerKey);
        _refundIfWrong(p, purchaseId, b, _deliveredKey(purchaseId, b, s, delivery));
    }

    /// @dev The end of a challenge: refunds the buyer (msg.sender, checked to be the stored
    /// buyer) when `key` is not the committed one, else reverts with KeyIsRight.
    function _refundIfWrong(Purchase storage p, uint256 purchaseId, uint256 b, bytes32 key) private {
        Listing storage l = listings[p.listingId];
        if (keccak256(abi.encodePacked(key)) == l.keyCommit) revert KeyIsRight();
        // Effects before the transfer: a re-entered call finds the purchase refunded.
        p.state = State.Refunded;
        address token = l.token;
        uint256 amount = p.price;
        emit KeyProvenWrong(purchaseId, msg.sender, l.seller, b);
        emit Refunded(purchaseId, msg.sender, token, amount);
        _pay(token, msg.sender, amount);
    }

    /// @notice The buyer takes back a payment the seller did not deliver for in time, to `to`.
    function refund(uint256 purchaseId, address to) external nonReentrant {
        Purchase storage p = _purchase(purchaseId);
        if (msg.sender != p.buyer) revert NotBuyer(msg.sender);
        _requirePaid(purchaseId, p.state);
        // slither-disable-next-line timestamp (days-long windows, as in deliver)
        if (block.timestamp <= p.deadline) revert DeadlineNotPassed(purchaseId, p.deadline);
        if (to == address(0)) revert ZeroRecipient();
        // Effects before the transfer: a re-entered call finds the purchase refunded.
        p.state = State.Refunded;
        address token = listings[p.listingId].token;
        uint256 amount = p.price;
        emit Refunded(purchaseId, msg.sender, token, amount);
        _pay(token, to, amount);
    }

    /// @notice The buyer records that a delivery did not open the content, publishing the
    /// one-time secret so that every client can derive the key and check the claim (proven or
    /// refuted). After delivery (settled or not), once per purchase; no money moves.
    /// @dev Only the address of secret·G is compared with the address of the stored B (the low
    /// 20 bytes of its hash), i.e. b·G = B at about 80 bits against a buyer who picks B. Enough
    /// here: a dispute moves no money, and every client checks b·G = B as a whole point against
    /// the B in the `Purchased` event before it shows the dispute at all; the contract's check
    /// only keeps obvious garbage off the record.
    function dispute(uint256 purchaseId, uint256 secret, string calldata reason) external {
        Purchase storage p = _purchase(purchaseId);
        if (msg.sender != p.buyer) revert NotBuyer(msg.sender);
        if (p.state != State.Delivered && p.state != State.Settled) revert NotDelivered(purchaseId);
        if (p.disputed) revert AlreadyDisputed(purchaseId);
        if (bytes(reason).length > MAX_REASON) revert ReasonTooLong(bytes(reason).length, MAX_REASON);
        if (secret == 0 || secret >= N) revert WrongSecret();
        // G.y is even, so v = 27.
        address bG = ecrecover(bytes32(0), 27, bytes32(GX), bytes32(mulmod(GX, secret, N)));
        if (bG == address(0) || bG != address(uint160(uint256(p.buyerKeyHash)))) revert WrongSecret();
        p.disputed = true;
        emit Disputed(purchaseId, msg.sender, secret, reason);
    }

    /// @notice Settles delivered purchases whose challenge window is over: their prices become
    /// their sellers' claimable balances. Anyone may call it; it only does what time allows.
    function settle(uint256[] calldata purchaseIds) external {
        for (uint256 i = 0; i < purchaseIds.length; i++) {
            _settle(purchaseIds[i]);
        }
    }

    /// @notice Settles `settleFirst` (as `settle`), then moves all of the caller's claimable
    /// `token` (address 0: ETH) to `to`.
    function withdraw(address token, address to, uint256[] calldata settleFirst) external nonReentrant {
        if (to == address(0)) revert ZeroRecipient();
        for (uint256 i = 0; i < settleFirst.length; i++) {
            _settle(settleFirst[i]);
        }
        uint256 amount = _claimable[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw(token);
        // Checks, effects, then the interaction; the guard also stops a token or a receiving
        // contract that calls back into any guarded function.
        _claimable[msg.sender][token] = 0;
        emit Withdrawn(msg.sender, token, amount);
        _pay(token, to, amount);
    }

    /// @dev The purchase a challenge may be about: delivered and not settled, the caller its
    /// buyer, and `buyerKey` and `delivery` the bytes stored (as hashes) at buy and deliver.
    function _challengeable(uint256 purchaseId, bytes calldata buyerKey, bytes calldata delivery)
        private
        view
        returns (Purchase storage p)
    {
        p = purchases[purchaseId];
        // Refused before any check that would pass on the zeros of a purchase that does not exist.
        if (p.state != State.Delivered) {
            if (p.state == State.None) revert UnknownPurchase(purchaseId);
            revert NotDelivered(purchaseId);
        }
        if (msg.sender != p.buyer) revert NotBuyer(msg.sender);
        uint64 settlesAt = p.settlesAt;
        // slither-disable-next-line timestamp (days-long windows, as in deliver)
        if (block.timestamp >= settlesAt) revert ChallengeWindowOver(purchaseId, settlesAt);
        if (delivery.length != DELIVERY_LENGTH || keccak256(delivery) != p.deliveryHash) revert WrongDelivery();
        if (keccak256(buyerKey) != p.buyerKeyHash) revert WrongBuyerKey();
    }

    /// @dev Reverts unless b·bInv = 1 mod n and bInv·B = G, i.e. B = b·G as a whole point.
    /// B.x < n and B on the curve were checked at buy.
    function _checkSecret(uint256 b, uint256 bInv, bytes calldata buyerKey) private pure {
        if (b == 0 || b >= N || bInv == 0 || bInv >= N || mulmod(b, bInv, N) != 1) revert WrongSecret();
        // ADDRESS_G is not 0, so a failed ecrecover (address 0) cannot pass.
        if (_mulAddress(_word(buyerKey, 0), _word(buyerKey, 32), bInv) != ADDRESS_G) revert WrongSecret();
    }

    /// @dev Checks S = b·R (R.x < n and R on the curve were checked at deliver) and returns the
    /// key the buyer decrypts from the delivery: c xor keccak256("keybot delivery v2" ‖ S.x ‖ S.y
    /// ‖ chainId ‖ market ‖ purchaseId).
    function _deliveredKey(uint256 purchaseId, uint256 b, bytes calldata s, bytes calldata delivery)
        private
        view
        returns (bytes32)
    {
        if (s.length != 64) revert BadPoint();
        uint256 sx = _word(s, 0);
        uint256 sy = _word(s, 32);
        if (!_onCurve(sx, sy)) revert BadPoint();
        address bR = _mulAddress(_word(delivery, 0), _word(delivery, 32), b);
        if (bR == address(0) || bR != address(uint160(uint256(keccak256(s))))) revert WrongSharedPoint();
        bytes32 mask = keccak256(abi.encodePacked("keybot delivery v2", sx, sy, block.chainid, address(this), purchaseId));
        return bytes32(_word(delivery, 64)) ^ mask;
    }

    /// @dev A purchase already settled is skipped, not refused: anyone may settle, so a stranger
    /// who settles one of a seller's purchases just before the seller's `withdraw` lands must
    /// not make that withdrawal revert.
    function _settle(uint256 purchaseId) private {
        Purchase storage p = purchases[purchaseId];
        if (p.state == State.Settled) return;
        // slither-disable-next-line timestamp (days-long windows, as in deliver)
        if (p.state != State.Delivered || block.timestamp < p.settlesAt) revert NotSettled(purchaseId);
        p.state = State.Settled;
        Listing storage l = listings[p.listingId];
        address seller = l.seller;
        address token = l.token;
        uint256 amount = p.price;
        _claimable[seller][token] += amount;
        emit Settled(purchaseId, seller, token, amount);
    }

    function _activeListingOfSender(uint256 listingId) private view returns (Listing storage l) {
        l = listings[listingId];
        if (l.seller == address(0)) revert UnknownListing(listingId);
        if (l.seller != msg.sender) revert NotSeller(msg.sender);
        if (!l.active) revert ListingNotActive(listingId);
    }

    function _purchase(uint256 purchaseId) private view returns (Purchase storage p) {
        p = purchases[purchaseId];
        if (p.state == State.None) revert UnknownPurchase(purchaseId);
    }

    function _requirePaid(uint256 purchaseId, State state) private pure {
        if (state == State.Delivered || state == State.Settled) revert AlreadyDelivered(purchaseId);
        if (state == State.Refunded) revert AlreadyRefunded(purchaseId);
    }

    /// @dev Whether (x, y) is a point of secp256k1: both below p and y² = x³ + 7 mod p. The point
    /// at infinity has no such encoding, and no point has x = 0 (7 is not a square mod p).
    function _onCurve(uint256 x, uint256 y) private pure returns (bool) {
        return x < P && y < P && mulmod(y, y, P) == addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
    }

    /// @dev The address of k·(x, y) through ecrecover, for a point with 0 < x < n and 0 < k < n;
    /// address 0 on any other input.
    function _mulAddress(uint256 x, uint256 y, uint256 k) private pure returns (address) {
        return ecrecover(bytes32(0), uint8(27 + (y & 1)), bytes32(x), bytes32(mulmod(x, k, N)));
    }

    /// @dev The 32-byte big-endian word at `offset` of `data`; the caller has checked the length.
    function _word(bytes calldata data, uint256 offset) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := calldataload(add(data.offset, offset))
        }
    }

    function _pay(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            Address.sendValue(payable(to), amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
