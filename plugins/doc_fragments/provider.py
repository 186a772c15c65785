class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  network:
    description:
      - Network the run targets. Addresses are printed with the testnet-only flag everywhere but mainnet.
    type: str
    required: true
    choices: [local, testnet, mainnet]
  provider:
    description:
      - C(sandbox) runs the official TON emulator over a local state file (the embedded default).
      - C(lite) talks to liteservers through pytoniq's LiteBalancer.
    type: str
    default: sandbox
    choices: [sandbox, lite]
  sandbox_state:
    description:
      - Path of the sandbox chain state file. Required with O(provider=sandbox).
    type: path
  lite_config:
    description:
      - Path of a TON global-config file listing liteservers. Required with O(provider=lite).
      - The file is read from disk; nothing is downloaded at run time.
    type: path
  wait_timeout:
    description:
      - Seconds to wait for the chain to show the effect of a send.
    type: int
    default: 120
"""

    DEPLOYER = r"""
options:
  deployer_mnemonic:
    description:
      - The 24 words of the deployer wallet. Fetch them with a secret lookup; never write them in an inventory.
      - Required unless nothing needs sending.
    type: str
  deployer_wallet:
    description:
      - Deployer wallet contract. C(v4r2) carries 4 messages per external message, C(v5r1) up to 255,
        C(highload_v3) up to 500 with a query id per send.
    type: str
    default: v5r1
    choices: [v4r2, v5r1, highload_v3]
  artifacts_dir:
    description:
      - Directory holding the compiled C(<Name>.json) artifacts (code BoC and code hash).
    type: path
    required: true
  amount_nanoton:
    description:
      - Value sent with each deploy message, in nanotons.
    type: int
    default: 50000000
"""
