// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockERC20} from "./MockERC20.sol";

/// @title ReentrantToken
/// @notice On each transfer, calls a configured target with configured calldata (the call a
///         malicious token hook would make) and bubbles up its revert.
contract ReentrantToken is MockERC20 {
    address public hookTarget;
    bytes public hookPayload;

    constructor() MockERC20("Reentrant Token", "REENT", 18) {}

    /// @notice Arms the hook; an empty payload disarms it.
    /// @param target_ Contract to call on every transfer.
    /// @param payload_ Calldata of that call.
    function arm(address target_, bytes calldata payload_) external {
        hookTarget = target_;
        hookPayload = payload_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        bytes memory data = hookPayload;
        if (data.length == 0 || from == address(0) || to == address(0)) return;
        // the mock's purpose: call the armed target with an arbitrary payload
        // solhint-disable-next-line avoid-low-level-calls
        (bool ok, bytes memory ret) = hookTarget.call(data);
        if (!ok) {
            // bubble the target's revert data up unchanged
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}
