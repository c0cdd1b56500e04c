// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title keybot's data market
/// @notice Sellers list encrypted data for a price; a buyer pays into escrow with a public key;
/// the seller delivers the content key encrypted to that key, which moves the payment to the
/// seller's claimable balance; a buyer who gets nothing reclaims the payment after the delivery
/// window. The formats (ciphertext, hashes, ECIES delivery, metadata) are keybot's MARKET.md.
/// @dev No owner, no admin, no upgrade, no fee: after deployment nobody can change the rules or
/// move anyone's money. No immutables either, so the runtime code of every deployment equals the
/// committed artifact's `deployedBytecode` byte for byte (`keybot market join` checks exactly that).
/// Everything an indexer needs is in the events; storage keeps only what the rules check.
contract DataMarket is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice How long a seller has to deliver before the buyer may take the payment back.
    uint256 public constant DELIVERY_WINDOW = 3 days;
    /// @notice The most ciphertext a listing carries inline (in its calldata and `Listed` event).
    uint256 public constant MAX_INLINE_DATA = 32 * 1024;
    /// @notice The most metadata (compact JSON) a listing carries.
    uint256 public constant MAX_META = 2 * 1024;
    /// @notice The most a URI may take; bounded like everything else strangers write into events.
    uint256 public constant MAX_URI = 2 * 1024;
    /// @notice The most a dispute's reason may take.
    uint256 public constant MAX_REASON = 1024;
    /// @notice A compressed secp256k1 public key: 0x02 or 0x03, then the 32-byte x coordinate.
    uint256 public constant BUYER_KEY_LENGTH = 33;
    /// @notice ECIES over secp256k1 of a 32-byte key: 65-byte ephemeral key, 16-byte nonce,
    /// 16-byte tag, 32-byte ciphertext.
    uint256 public constant ENCRYPTED_KEY_LENGTH = 129;

    /// @notice A purchase's state. `None` is the zero value, so an unknown id reads as `None`.
    enum State {
        None,
        Paid,
        Delivered,
        Refunded
    }

    /// @dev Hashes, data, URI and metadata live in the `Listed` event only: the contract never
    /// reads them, and storing 32 KiB would cost the seller ~20x more.
    struct Listing {
        address seller;
        bool active;
        address token;
        uint256 price;
    }

    /// @dev The price is copied at purchase: a later reprice must not change what is in escrow.
    /// buyer, deadline, state and disputed share one storage slot.
    struct Purchase {
        uint256 listingId;
        uint256 price;
        address buyer;
        uint64 deadline;
        State state;
        bool disputed;
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
    event Delivered(uint256 indexed purchaseId, address indexed seller, bytes encryptedKey);
    event Refunded(uint256 indexed purchaseId, address indexed buyer, address indexed token, uint256 amount);
    event Disputed(uint256 indexed purchaseId, address indexed buyer, string reason);
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
    /// @notice A buyer key must be a compressed secp256k1 public key: 33 bytes, 0x02 or 0x03 first.
    error BadBuyerKey();
    /// @notice msg.value must be the price for an ETH listing and zero for a token listing.
    error WrongPayment(uint256 sent, uint256 expected);
    /// @notice The token moved another amount than the price (a fee-on-transfer token).
    error TransferAmountMismatch(uint256 received, uint256 expected);
    error BadEncryptedKeyLength(uint256 length, uint256 expected);
    error AlreadyDelivered(uint256 purchaseId);
    error AlreadyRefunded(uint256 purchaseId);
    error NotDelivered(uint256 purchaseId);
    error AlreadyDisputed(uint256 purchaseId);
    error DeadlineNotPassed(uint256 purchaseId, uint64 deadline);
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

    /// @notice What `seller` can withdraw in `token`: the prices of their delivered purchases,
    /// less what they withdrew.
    function claimable(address seller, address token) external view returns (uint256) {
        return _claimable[seller][token];
    }

    /// @notice Lists ciphertext for sale. The caller is the seller.
    /// @param contentHash keccak256 of the ciphertext; the buyer checks it before anything else.
    /// @param keyCommit keccak256 of the content key; the buyer checks the delivered key with it.
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
        listings[listingId] = Listing({seller: msg.sender, active: true, token: token, price: price});
        emit Listed(listingId, msg.sender, token, price, contentHash, keyCommit, data, uri, meta);
    }

    /// @notice Sets a new price for later purchases; purchases already paid keep theirs.
    /// @dev A buyer of a token listing approves exactly the price it saw, so a reprice racing a
    /// purchase makes that purchase fail rather than take more; an ETH buyer sends the exact price.
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
    /// the content key encrypted to `buyerKey`; after that, the buyer may take the payment back.
    /// @param buyerKey the buyer's compressed secp256k1 public key (their market key), 33 bytes.
    /// `bytes` with a length check, since Solidity has no 33-byte value type.
    function buy(uint256 listingId, bytes calldata buyerKey)
        external
        payable
        nonReentrant
        returns (uint256 purchaseId)
    {
        Listing storage l = listings[listingId];
        if (!l.active) revert ListingNotActive(listingId);
        if (buyerKey.length != BUYER_KEY_LENGTH || (buyerKey[0] != 0x02 && buyerKey[0] != 0x03)) {
            revert BadBuyerKey();
        }
        uint256 price = l.price;
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
            disputed: false
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

    /// @notice The seller posts the content key encrypted to the buyer's key; the payment becomes
    /// the seller's to withdraw. Once per purchase, and not after a refund (even a late delivery
    /// is fine until the buyer has taken the money back).
    function deliver(uint256 purchaseId, bytes calldata encryptedKey) external {
        Purchase storage p = _purchase(purchaseId);
        Listing storage l = listings[p.listingId];
        if (msg.sender != l.seller) revert NotSeller(msg.sender);
        _requirePaid(purchaseId, p.state);
        if (encryptedKey.length != ENCRYPTED_KEY_LENGTH) {
            revert BadEncryptedKeyLength(encryptedKey.length, ENCRYPTED_KEY_LENGTH);
        }
        p.state = State.Delivered;
        _claimable[msg.sender][l.token] += p.price;
        emit Delivered(purchaseId, msg.sender, encryptedKey);
    }

    /// @notice The buyer takes back a payment the seller did not deliver for in time.
    function refund(uint256 purchaseId) external nonReentrant {
        Purchase storage p = _purchase(purchaseId);
        if (msg.sender != p.buyer) revert NotBuyer(msg.sender);
        _requirePaid(purchaseId, p.state);
        if (block.timestamp <= p.deadline) revert DeadlineNotPassed(purchaseId, p.deadline);
        // Effects before the transfer: a re-entered call finds the purchase refunded.
        p.state = State.Refunded;
        address token = listings[p.listingId].token;
        uint256 amount = p.price;
        emit Refunded(purchaseId, msg.sender, token, amount);
        _pay(token, msg.sender, amount);
    }

    /// @notice The buyer records that a delivery did not open the content (a record only: the
    /// contract cannot judge content; later buyers see it). Once per purchase.
    function dispute(uint256 purchaseId, string calldata reason) external {
        Purchase storage p = _purchase(purchaseId);
        if (msg.sender != p.buyer) revert NotBuyer(msg.sender);
        if (p.state != State.Delivered) revert NotDelivered(purchaseId);
        if (p.disputed) revert AlreadyDisputed(purchaseId);
        if (bytes(reason).length > MAX_REASON) revert ReasonTooLong(bytes(reason).length, MAX_REASON);
        p.disputed = true;
        emit Disputed(purchaseId, msg.sender, reason);
    }

    /// @notice Moves all of the caller's claimable `token` (address 0: ETH) to the caller.
    function withdraw(address token) external nonReentrant {
        uint256 amount = _claimable[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw(token);
        // Checks, effects, then the interaction; the guard also stops a token or a receiving
        // contract that calls back into any guarded function.
        _claimable[msg.sender][token] = 0;
        emit Withdrawn(msg.sender, token, amount);
        _pay(token, msg.sender, amount);
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
        if (state == State.Delivered) revert AlreadyDelivered(purchaseId);
        if (state == State.Refunded) revert AlreadyRefunded(purchaseId);
    }

    function _pay(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            Address.sendValue(payable(to), amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
